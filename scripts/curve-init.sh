#!/bin/sh
# curve-init.sh ROOT [BRIDGECTL]: the CURVE certificates of the three
# programs under ROOT, made on the first call and reused on every later one
# (docs/operations.md, "CURVE certificates"). `make run` (scripts/run.sh)
# calls it with ROOT=var/curve; the compose file's curve-init service with
# ROOT=/curve, each subfolder being a program's own volume.
#
#   ROOT/crm/     crm.key crm.pub allowed/bridge.pub
#   ROOT/erp/     erp.key erp.pub allowed/bridge.pub
#   ROOT/bridge/  bridge.key bridge.pub crm.pub erp.pub
#
# A missing pair is made with `bridgectl keygen` (which never overwrites);
# then each public half is copied where its peers look: the services admit
# the bridge (allowed/bridge.pub), the bridge knows the services (crm.pub,
# erp.pub). Existing keys are never changed, so running it again changes
# nothing; a pair made anew (a .key deleted on purpose) reaches the peers'
# folders on the next call. Other files in allowed/ are left alone.
#
# BRIDGECTL defaults to $BRIDGECTL, else bridgectl on the PATH. Exit 0 on
# success, 1 with a message on stderr otherwise. POSIX sh: the runtime
# image has no bash requirement.
set -eu

die() {
    echo "curve-init: $*" >&2
    exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: curve-init.sh ROOT [BRIDGECTL]"
root=$1
bridgectl=${2:-${BRIDGECTL:-bridgectl}}
umask 077

# keygen makes its folder but not the parents.
mkdir -p "$root" || die "cannot create $root"

made=""
for name in crm erp bridge; do
    dir=$root/$name
    if [ ! -f "$dir/$name.key" ]; then
        command -v "$bridgectl" >/dev/null 2>&1 || [ -x "$bridgectl" ] \
            || die "$bridgectl not found: it makes the certificates (run make first)"
        "$bridgectl" keygen --curve-dir "$dir" "$name" >/dev/null \
            || die "bridgectl keygen --curve-dir $dir $name failed"
        made="$made $name"
    fi
    [ -f "$dir/$name.pub" ] \
        || die "$dir/$name.key has no $dir/$name.pub beside it: move the .key away to make a new pair"
    mkdir -p "$dir/allowed" || die "cannot create $dir/allowed"
done

# copy SRC DST: DST gets SRC's content, atomically, unless it has it already.
copy() {
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        return 0
    fi
    cp "$1" "$2.tmp" && chmod 0644 "$2.tmp" && mv -f "$2.tmp" "$2" || die "cannot copy $1 to $2"
    echo "curve-init: $2 updated"
}

copy "$root/bridge/bridge.pub" "$root/crm/allowed/bridge.pub"
copy "$root/bridge/bridge.pub" "$root/erp/allowed/bridge.pub"
copy "$root/crm/crm.pub" "$root/bridge/crm.pub"
copy "$root/erp/erp.pub" "$root/bridge/erp.pub"

if [ -n "$made" ]; then
    echo "curve-init: made the certificates of$made in $root"
else
    echo "curve-init: reusing the certificates in $root"
fi
