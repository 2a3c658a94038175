# Reshapes `findmnt --df --json --bytes` into the hub's disk status: no in-memory filesystems,
# fullest first. $type (the `type` query parameter) keeps one filesystem type; "" keeps all.

# findmnt prints sizes as numbers and "use%" as "12%"; older versions print text for both.
def number: if type == "string" then (rtrimstr("%") | tonumber? // null) else . end;
def in_memory: IN("tmpfs", "devtmpfs", "ramfs", "squashfs", "efivarfs");

[ .filesystems[]
  | select(.fstype | in_memory | not)
  | select($type == "" or .fstype == $type)
  | {
      mount: .target,
      device: .source,
      type: .fstype,
      size_bytes: (.size | number),
      used_bytes: (.used | number),
      available_bytes: (.avail | number),
      used_percent: (.["use%"] | number)
    }
]
| sort_by(.used_percent) | reverse
| { filesystems: ., fullest: (.[0] // null) }
