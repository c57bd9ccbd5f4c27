/**
 * The init step of the default install: fetch the agent executable from the gateway, verify its
 * SHA-256 against the pin in the manifest, and only then make it executable. POSIX sh using curl,
 * sha256sum, chmod, mv and rm (curlimages/curl has all of them, busybox's). Anything that does not
 * match the pin is deleted and the step fails, so the main container never starts.
 *
 * Environment: WARD_DOWNLOAD_URL, WARD_SHA256 (64 hex), WARD_DEST (the final path), and
 * WARD_CA_FILE (optional: the gateway CA; without it curl uses the image's system roots).
 */
export const INIT_SCRIPT = `set -eu
umask 077
dest="$WARD_DEST"
tmp="$dest.download"
rm -f "$tmp" "$dest"
case "$WARD_SHA256" in
  *[!0-9a-f]*|"") echo "ward-fetch: WARD_SHA256 is not a lowercase hex SHA-256" >&2; exit 2 ;;
esac
[ \${#WARD_SHA256} -eq 64 ] || { echo "ward-fetch: WARD_SHA256 must be 64 hex digits" >&2; exit 2; }
set -- --fail --silent --show-error --max-time 300 --output "$tmp"
if [ -n "\${WARD_CA_FILE:-}" ]; then set -- "$@" --cacert "$WARD_CA_FILE"; fi
if ! curl "$@" "$WARD_DOWNLOAD_URL"; then rm -f "$tmp"; echo "ward-fetch: cannot download $WARD_DOWNLOAD_URL" >&2; exit 1; fi
got=$(sha256sum "$tmp" | cut -d ' ' -f 1)
if [ "$got" != "$WARD_SHA256" ]; then
  rm -f "$tmp"
  echo "ward-fetch: refusing $WARD_DOWNLOAD_URL: SHA-256 $got, pinned $WARD_SHA256" >&2
  exit 1
fi
chmod 0555 "$tmp"
mv "$tmp" "$dest"
echo "ward-fetch: $dest verified (SHA-256 $got)"
`;
