#!/usr/bin/env bash
# Install Mailclient's desktop entry, AppStream metainfo and icons for the current user, so
# that it appears in the application menu with its icon and opens mailto: links.
#
# Usage: packaging/install-desktop.sh [--exec COMMAND] [--uninstall]
#   --exec COMMAND  what the menu entry runs (default: mailclient, found on PATH); give the
#                   full path of a bundle, e.g. --exec ~/apps/mailclient/mailclient
#   --uninstall     remove what an earlier run installed
# Files go under ${XDG_DATA_HOME:-~/.local/share}: applications/, metainfo/, icons/hicolor/.
set -euo pipefail

app_id=org.mailclient.Mailclient
here=$(cd "$(dirname "$0")" && pwd)
icons="$here/../resources/icons/hicolor"
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
exec_command=mailclient
uninstall=false

while [ $# -gt 0 ]; do
  case "$1" in
    --exec) exec_command=${2:?--exec needs a command}; shift 2 ;;
    --uninstall) uninstall=true; shift ;;
    -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install-desktop.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

icon_files() {
  (cd "$icons" && find . -name "$app_id.png" -o -name "$app_id.svg" | sed 's|^\./||' | sort)
}

refresh() {
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$data_home/applications"
  fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$data_home/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$data_home/icons/hicolor"
  fi
}

if $uninstall; then
  rm -f "$data_home/applications/$app_id.desktop" "$data_home/metainfo/$app_id.metainfo.xml"
  for file in $(icon_files); do rm -f "$data_home/icons/hicolor/$file"; done
  refresh
  echo "Removed Mailclient's desktop entry, metainfo and icons from $data_home."
  exit 0
fi

if [[ "$exec_command" == */* ]]; then
  [ -x "$exec_command" ] || { echo "install-desktop.sh: $exec_command is not executable" >&2; exit 1; }
elif ! command -v "$exec_command" >/dev/null; then
  echo "install-desktop.sh: warning: $exec_command is not on PATH; the menu entry will not" \
    "start until it is (or use --exec /full/path/to/mailclient)" >&2
fi
# The Exec key: a path with spaces is quoted, where " ` $ \ would need escapes (refused
# here); a literal % is written %%; & and | are escaped for sed.
case "$exec_command" in
  *[\"\`\$\\]*) echo "install-desktop.sh: --exec must not contain \" \` \$ or \\" >&2; exit 2 ;;
  *" "*) exec_field="\"$exec_command\"" ;;
  *) exec_field=$exec_command ;;
esac
exec_field=${exec_field//%/%%}
exec_field=$(printf '%s' "$exec_field" | sed 's/[&|]/\\&/g')

grep -qx 'Exec=mailclient %u' "$here/$app_id.desktop" || {
  echo "install-desktop.sh: the desktop entry's Exec line has changed; update this script" >&2
  exit 1
}
mkdir -p "$data_home/applications" "$data_home/metainfo"
sed "s|^Exec=mailclient |Exec=$exec_field |" "$here/$app_id.desktop" \
  > "$data_home/applications/$app_id.desktop"
cp "$here/$app_id.metainfo.xml" "$data_home/metainfo/"
for file in $(icon_files); do
  install -D -m 644 "$icons/$file" "$data_home/icons/hicolor/$file"
done
refresh
if command -v xdg-mime >/dev/null; then
  xdg-mime default "$app_id.desktop" x-scheme-handler/mailto
  echo "Mailclient now opens mailto: links."
fi
echo "Installed Mailclient's desktop entry, metainfo and icons into $data_home."
