#!/usr/bin/env bash
# Fails when git tracks something built rather than written: a file larger
# than 1 MiB, or an executable that is not a script. An executable is a file
# with the executable mode or a file whose content is a compiled program (ELF
# or Mach-O); a script is an executable whose first line is a shebang (#!).
# Modes and sizes are the index's (what the next commit holds); the first
# bytes are read from the work tree, which matches the index on a clean tree,
# or from the index when the work tree has lost the file.
#
# Usage: hack/check-tracked-files.sh   (from the repository root)
set -euo pipefail
export LC_ALL=C

max_size=$((1024 * 1024))
bad=()

# "mode size path" for every tracked file: git ls-files -s gives mode, object
# and path; cat-file adds each object's size in one call. %(rest) carries the
# mode and path through cat-file unchanged.
while read -r object size mode path; do
  # A submodule's commit or a symbolic link's target path, not a file.
  [[ $mode == 160000 || $mode == 120000 ]] && continue
  if ((size > max_size)); then
    bad+=("$path: $size bytes, more than 1 MiB")
    continue
  fi
  magic=
  if [[ -f $path ]]; then
    IFS= read -r -n 4 magic <"$path" || true
  else # deleted from the work tree but not from the index
    magic=$( (git cat-file blob "$object" || true) | head -c 4)
  fi
  case $magic in
  $'\x7fELF' | $'\xcf\xfa\xed\xfe' | $'\xce\xfa\xed\xfe' | $'\xfe\xed\xfa\xcf' | $'\xfe\xed\xfa\xce')
    bad+=("$path: a compiled program")
    continue
    ;;
  esac
  if [[ $mode == 100755 && $magic != '#!'* ]]; then
    bad+=("$path: executable but not a script (no #! line)")
  fi
done < <(git ls-files -s | awk -F '\t' '{ split($1, m, " "); print m[2], m[1], $2 }' |
  git cat-file --batch-check='%(objectname) %(objectsize) %(rest)')

if ((${#bad[@]} > 0)); then
  echo "tracked files that must not be in git (built files belong in bin/ or another ignored path):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
