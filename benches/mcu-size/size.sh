#!/usr/bin/env bash
# Flash and RAM that tripline-core adds to Cortex-M firmware (opt-level "s",
# LTO, panic=abort): each probe minus `baseline`, on thumbv6m and thumbv7em;
# then size_of per window on the target. Needs arm-none-eabi binutils.
# Usage: bash benches/mcu-size/size.sh
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
TARGETS=(thumbv6m-none-eabi thumbv7em-none-eabihf)
PROBES=(consecutive rate timewindow)

sizes() { # elf -> "flash ram": flash = vector table + text + rodata + data; RAM = data + bss + uninit
  arm-none-eabi-size -A "$1" | awk '
    $1 ~ /^\.(vector_table|text|rodata)$/ { flash += $2 }
    $1 == ".data" { flash += $2; ram += $2 }
    $1 ~ /^\.(bss|uninit)$/ { ram += $2 }
    END { print flash + 0, ram + 0 }'
}

printf '| target | probe | flash | RAM | flash - baseline | RAM - baseline |\n|---|---|---:|---:|---:|---:|\n'
for t in "${TARGETS[@]}"; do
  rustup target add "$t" >/dev/null 2>&1 || true
  cargo build --release --quiet --target "$t"
  read -r bf br < <(sizes "$CARGO_TARGET_DIR/$t/release/baseline")
  printf '| %s | baseline | %d | %d | | |\n' "${t%%-*}" "$bf" "$br"
  for p in "${PROBES[@]}"; do
    read -r f r < <(sizes "$CARGO_TARGET_DIR/$t/release/$p")
    printf '| %s | %s | %d | %d | %d | %d |\n' "${t%%-*}" "$p" "$f" "$r" $((f - bf)) $((r - br))
  done
done

printf '\n| type | %s |\n|---|%s\n' "$(printf '%s | ' "${TARGETS[@]%%-*}" | sed 's/ | $//')" "$(printf -- '---:|%.0s' "${TARGETS[@]}")"
declare -A size
for t in "${TARGETS[@]}"; do
  while read -r sz name; do size[$t,$name]=$((16#$sz)); done < <(
    arm-none-eabi-nm -S -C "$CARGO_TARGET_DIR/$t/release/sizes" | awk '$4 ~ /SIZE_/ { sub(/.*::/, "", $4); print $2, $4 }')
done
for name in $(arm-none-eabi-nm -C "$CARGO_TARGET_DIR/${TARGETS[0]}/release/sizes" | awk '$3 ~ /SIZE_/ { sub(/.*::/, "", $3); print $3 }' | sort -V); do
  row="| $name |"
  for t in "${TARGETS[@]}"; do row+=" ${size[$t,$name]:-?} |"; done
  echo "$row"
done
