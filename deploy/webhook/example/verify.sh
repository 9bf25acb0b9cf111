#!/bin/sh
# verify.sh checks an Aftershock halt webhook (Standard Webhooks signing).
#
#   WEBHOOK_SECRET=... ./verify.sh "$webhook_id" "$webhook_timestamp" "$webhook_signature" < body.json
#
# WEBHOOK_SECRET is the secret configured in Aftershock: raw text, or
# "whsec_<base64 key>". The body must be the raw request body, byte for byte.
# Exit status 0 means the signature is valid and the timestamp is within
# 5 minutes of this machine's clock.
set -eu

id=$1 ts=$2 sigs=$3
tolerance=${TOLERANCE:-300}

now=$(date +%s)
age=$((now - ts))
if [ "$age" -gt "$tolerance" ] || [ "$age" -lt "-$tolerance" ]; then
	echo "timestamp outside tolerance" >&2
	exit 1
fi

case $WEBHOOK_SECRET in
whsec_*) hexkey=$(printf '%s' "${WEBHOOK_SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n') ;;
*) hexkey=$(printf '%s' "$WEBHOOK_SECRET" | od -An -v -tx1 | tr -d ' \n') ;;
esac

expected=$({
	printf '%s.%s.' "$id" "$ts"
	cat
} | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 | tr -d '\n')

# Several signatures may be sent (secret rotation), separated by spaces.
for sig in $sigs; do
	if [ "$sig" = "v1,$expected" ]; then
		exit 0
	fi
done
echo "no matching signature" >&2
exit 1
