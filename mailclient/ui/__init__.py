"""The user interface: windows, dialogs and Qt item models."""
