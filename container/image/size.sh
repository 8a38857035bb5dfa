#!/usr/bin/env bash
# container/image/size.sh IMAGE: prints "image IMAGE <N> MB", the image's uncompressed size (the sum
# of its layers as tar files; 1 MB = 10^6 bytes), which is what a Fargate task unpacks.
set -euo pipefail
image=$1
if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then
    bytes=$(docker image inspect --format '{{.Size}}' "$image")
else
    bytes=$(buildah inspect --type image "$image" | python3 -c '
import json, sys
manifest = json.loads(json.load(sys.stdin)["Manifest"])
print(sum(layer["size"] for layer in manifest["layers"]))')
fi
echo "image $image $(( (bytes + 500000) / 1000000 )) MB"
