#!/bin/bash
# dracut module: puts kexec for Deno into the initramfs as /sbin/kexec, with
# what it needs to run: its libraries, or deno with its libraries and the
# bundle. `deno task install` writes the list of those files to
# PREFIX/lib/kexec-deno/initramfs.list and this module to
# PREFIX/share/kexec-deno/dracut/90kexec-deno; enable it with
#   ln -s PREFIX/share/kexec-deno/dracut/90kexec-deno /usr/lib/dracut/modules.d/90kexec-deno
#   echo 'add_dracutmodules+=" kexec-deno "' > /etc/dracut.conf.d/kexec-deno.conf
# The prefix is found from where the link points (KEXEC_DENO_PREFIX overrides
# it; default /usr/local). See dracut.modules(7) for check/depends/install.

kexec_deno_list() {
    local self prefix
    self=$(readlink -f "${moddir:-.}/module-setup.sh")
    case "$self" in
        */share/kexec-deno/dracut/*) prefix=${self%/share/kexec-deno/dracut/*} ;;
        *) prefix=/usr/local ;;
    esac
    echo "${KEXEC_DENO_PREFIX:-$prefix}/lib/kexec-deno/initramfs.list"
}

# Only when asked for (add_dracutmodules, --add or --modules), and only when installed.
check() {
    [[ -r "$(kexec_deno_list)" ]] || return 1
    return 255
}

depends() {
    return 0
}

install() {
    local list kind src dst
    list=$(kexec_deno_list)
    while read -r kind src dst; do
        case "$kind" in
            "" | \#*) continue ;;
            exec) inst_binary "$src" "$dst" ;;
            file) inst_simple "$src" "$dst" ;;
            *)
                derror "kexec-deno: unknown kind '$kind' in $list"
                return 1
                ;;
        esac || {
            derror "kexec-deno: cannot install $src (listed in $list)"
            return 1
        }
    done <"$list"
}
