#!/usr/bin/env sh
# Remove StyleFuse from the current user's home. Your styles, autosaves and settings stay unless you
# pass --purge (they live in the folders 'StyleFuse info' lists; see the README).
set -eu
data=${XDG_DATA_HOME:-"$HOME/.local/share"}
rm -rf "$data/stylefuse-app"
rm -f "$HOME/.local/bin/stylefuse-app" "$data/applications/stylefuse.desktop" "$data/mime/packages/stylefuse.xml"
for size in 16 24 32 48 64 128 256 512; do
  dir="$data/icons/hicolor/${size}x${size}"
  rm -f "$dir/apps/stylefuse.png" "$dir/mimetypes/application-x-stylefuse-project.png" \
        "$dir/mimetypes/application-x-stylefuse-style.png"
done
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$data/StyleFuse" "${XDG_CACHE_HOME:-"$HOME/.cache"}/StyleFuse" "${XDG_CONFIG_HOME:-"$HOME/.config"}/StyleFuse"
  echo "StyleFuse removed, with your styles, autosaves, caches and settings"
else
  echo "StyleFuse removed (your styles and settings are kept; --purge removes them too)"
fi
