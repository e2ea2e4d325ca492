# Helpers shared by the demo scripts; source it after setting BIN and ADDR.

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# sample FILE I prints "LABEL PIXELS" for image I of a samples file: a list
# of {"label", "ints"} (examples/digits) or {"samples": [{"label", "pixels"}]}
# (examples/sklearn-digits).
sample() {
  python3 - "$1" "$2" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
s = (data["samples"] if isinstance(data, dict) else data)[int(sys.argv[2])]
print(s["label"], ",".join(map(str, s.get("ints") or s.get("pixels"))))
PY
}

# classify FILE N WANT predicts the first N images of FILE on model digits,
# prints each answer, and succeeds when at least 3 are right and every
# answer came from version WANT.
classify() {
  local file=$1 n=$2 want=$3 ok=0 i label pixels out got version
  for ((i = 0; i < n; i++)); do
    read -r label pixels < <(sample "$file" "$i")
    out=$("$BIN/swapwire" predict --addr "$ADDR" --model digits --ints "$pixels")
    got=$(sed -E 's/.*"ints":\[([0-9]+)\].*/\1/' <<<"$out")
    version=$(sed -E 's/.*"version":([0-9]+).*/\1/' <<<"$out")
    printf 'image %d: true digit %s, predicted %s by version %s\n' "$i" "$label" "$got" "$version"
    [[ $got == "$label" && $version == "$want" ]] && ok=$((ok + 1))
  done
  echo "$ok of $n correct from version $want"
  [[ $ok -ge 3 ]]
}

# wait_version V polls until model digits answers from version V (30 s at most).
wait_version() {
  local _ out
  for _ in $(seq 1 300); do
    out=$("$BIN/swapwire" predict --addr "$ADDR" --model digits --ints "$(printf '0,%.0s' {1..63})0")
    [[ $out == *"\"version\":$1"* ]] && return 0
    sleep 0.1
  done
  echo "model digits never answered from version $1" >&2
  return 1
}
