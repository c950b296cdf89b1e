"""Small pieces shared by every window: icons, plain-text labels, the error bar, the keys table."""
