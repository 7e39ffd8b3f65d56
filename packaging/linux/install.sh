#!/usr/bin/env sh
# Install a built StyleFuse bundle for the current user (no root): the app under
# ~/.local/share/stylefuse-app, a launcher, icons and file types so double-clicking a .sfproj or
# .sfstyle opens StyleFuse.   Usage: packaging/linux/install.sh [BUNDLE_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bundle=${1:-"$here/../../dist/StyleFuse"}
[ -x "$bundle/StyleFuse" ] || { echo "install.sh: no StyleFuse bundle at $bundle (build it with packaging/build.py)" >&2; exit 2; }
data=${XDG_DATA_HOME:-"$HOME/.local/share"}
app="$data/stylefuse-app"
mkdir -p "$data/applications" "$data/mime/packages" "$HOME/.local/bin"
rm -rf "$app.new"
cp -R "$bundle" "$app.new"
rm -rf "$app"
mv "$app.new" "$app"
ln -sf "$app/StyleFuse" "$HOME/.local/bin/stylefuse-app"
sed "s#@EXEC@#$app/StyleFuse#" "$here/stylefuse.desktop" > "$data/applications/stylefuse.desktop"
cp "$here/stylefuse-mime.xml" "$data/mime/packages/stylefuse.xml"
for size in 16 24 32 48 64 128 256 512; do
  dir="$data/icons/hicolor/${size}x${size}"
  mkdir -p "$dir/apps" "$dir/mimetypes"
  cp "$here/../icons/stylefuse-$size.png" "$dir/apps/stylefuse.png"
  cp "$here/../icons/stylefuse-$size.png" "$dir/mimetypes/application-x-stylefuse-project.png"
  cp "$here/../icons/stylefuse-$size.png" "$dir/mimetypes/application-x-stylefuse-style.png"
done
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
command -v xdg-mime >/dev/null 2>&1 && xdg-mime default stylefuse.desktop application/x-stylefuse-project application/x-stylefuse-style || true
echo "StyleFuse installed in $app (menu entry, file types and ~/.local/bin/stylefuse-app)"
