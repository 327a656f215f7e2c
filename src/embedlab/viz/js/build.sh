#!/usr/bin/env bash
# Rebuild ../projector.bundle.js (minified) and ../projector.bundle.LICENSES.txt from the
# pinned npm packages in package-lock.json. Only maintainers run this; users need no Node.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npx esbuild entry.js --bundle --minify --format=iife --global-name=EmbedlabProjector \
  --target=es2020 --legal-comments=none --outfile=../projector.bundle.js
{
  echo "projector.bundle.js bundles these npm packages (versions pinned in package-lock.json)."
  echo "Their licence texts follow."
  for dir in $(find node_modules -maxdepth 3 -name package.json -not -path '*/esbuild/*' \
      -not -path '*/@esbuild/*' -printf '%h\n' | sort); do
    [ "$dir" = node_modules ] && continue
    name=$(node -p "require('./$dir/package.json').name")
    version=$(node -p "require('./$dir/package.json').version")
    license=$(node -p "require('./$dir/package.json').license || ''")
    [ "$version" = undefined ] && continue
    echo
    echo "=== $name $version ($license) ==="
    cat "$dir"/LICENSE* 2>/dev/null || echo "(no licence file shipped; package.json says $license)"
  done
} > ../projector.bundle.LICENSES.txt
ls -l ../projector.bundle.js
