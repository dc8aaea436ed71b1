#!/usr/bin/env bash
# Runs tests/test_led_gpio_sim.py (the status LED against a simulated GPIO chip) in a QEMU guest, for a machine
# whose own kernel has no GPIO support (a Firecracker or cloud VM: CONFIG_GPIOLIB unset, no gpio-sim module).
#
# The guest boots Debian 12's kernel (6.1: GPIO character device, but gpio-sim not built) with gpio-sim compiled
# here from that kernel's own source, minus its interrupt simulation (Debian's kernel lacks IRQ_SIM; the LED needs
# no interrupts). The guest's root is this machine's / over 9p, read-only: the same Python, venv and checkout.
#
# Usage (root): tests/gpio_sim_vm.sh [pytest args]     work files: $RELAIS_GPIO_VM_DIR (about 400 MB)
# The guest runs under TCG (emulation, about 15 s once the kernel and module are here): nested KVM in a Firecracker VM hangs right after the
# kernel's setup code. RELAIS_GPIO_VM_ACCEL=kvm where KVM works.
# Exit status: pytest's, from inside the guest.
set -euo pipefail
checkout=$(cd "$(dirname "$0")/.." && pwd)
work=${RELAIS_GPIO_VM_DIR:-/var/tmp/relais-gpio-vm}
# this Debian's current kernel (tried on Debian 12: 6.1.0-50-amd64, 6.1.176-1)
abi=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: linux-image-//p' | head -1)
version=$(apt-cache show "linux-image-$abi" | sed -n 's/^Version: //p' | head -1)
series=$(echo "$abi" | cut -d. -f1,2)
python=${RELAIS_GPIO_VM_PYTHON:-$checkout/.venv/bin/python}   # the guest runs the host's, over 9p
mkdir -p "$work"
cd "$work"

accel=${RELAIS_GPIO_VM_ACCEL:-tcg}
[ "$(id -u)" = 0 ] || { echo "gpio_sim_vm: run as root (apt)" >&2; exit 2; }

# --- the kernel, its headers and source: Debian packages, downloaded (the image and source are unpacked here, not
# installed; only the headers and the tools are installed)
export DEBIAN_FRONTEND=noninteractive
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
[ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' || need+=(busybox-static)
[ -d "/usr/src/linux-headers-$abi" ] || need+=("linux-headers-$abi")
[ ${#need[@]} -eq 0 ] || apt-get install -y -qq "${need[@]}" >/dev/null
if [ ! -f "kernel/boot/vmlinuz-$abi" ]; then
    apt-get download -q "linux-image-$abi=$version" >/dev/null 2>&1
    dpkg-deb -x "linux-image-${abi}_${version}_amd64.deb" kernel
    rm "linux-image-${abi}_${version}_amd64.deb"
fi
if [ ! -f src/gpio-sim.c ]; then
    apt-get download -q "linux-source-$series=$version" >/dev/null 2>&1
    mkdir -p src
    dpkg-deb --fsys-tarfile "linux-source-${series}_${version}_all.deb" |
        tar -x -O --wildcards "*linux-source-$series.tar.xz" | tar -xJ -C src --strip-components=3 \
            "linux-source-$series/drivers/gpio/gpio-sim.c" "linux-source-$series/drivers/gpio/gpiolib.h"
    rm "linux-source-${series}_${version}_all.deb"
fi

# --- gpio-sim.ko without interrupts
if [ ! -f mod/gpio-sim.ko ]; then
    mkdir -p mod
    cp src/gpiolib.h mod/
    python3 - src/gpio-sim.c mod/gpio-sim.c <<'EOF'
import sys
s = open(sys.argv[1]).read()
for old, new in [
        ("\t\tirq = irq_find_mapping(chip->irq_sim, offset);\n", "\t\tirq = 0;\t/* no IRQ_SIM: no interrupts */\n"),
        ("\treturn irq_create_mapping(chip->irq_sim, offset);\n", "\treturn -ENXIO;\n"),
        ("\t\tirq_dispose_mapping(irq_find_mapping(chip->irq_sim, i));\n", "\t\t;\n"),
        ("\tchip->irq_sim = devm_irq_domain_create_sim(dev, swnode, num_lines);\n", "\tchip->irq_sim = NULL;\n")]:
    assert s.count(old) == 1, f"gpio-sim.c changed: {old!r}"
    s = s.replace(old, new)
open(sys.argv[2], "w").write(s)
EOF
    echo 'obj-m := gpio-sim.o' > mod/Makefile
    make -s -C "/usr/src/linux-headers-$abi" M="$work/mod" modules >mod/build.log 2>&1 || { cat mod/build.log >&2; exit 2; }
fi

# --- the initramfs: busybox, the modules that reach the host's / over virtio-9p, configfs and gpio-sim
rm -rf initramfs && mkdir -p initramfs/{bin,modules,proc,sys,dev,host}
cp /bin/busybox initramfs/bin/busybox
modules=(virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p
         configfs)
for m in "${modules[@]}"; do
    f=$(find "kernel/lib/modules/$abi" -name "$m.ko*" | head -1)
    case $f in *.xz) xz -dc "$f" ;; *) cat "$f" ;; esac > "initramfs/modules/$m.ko"
done
cp mod/gpio-sim.ko initramfs/modules/
cat > initramfs/init <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${modules[*]} gpio-sim; do insmod /modules/\$m.ko || echo "insmod \$m failed"; done
# cache=loose, msize: Python's imports stat and read hundreds of files; each uncached 9p round trip is emulated
# code on both sides. Safe: the guest sees the host's / read-only, for the few seconds it runs.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 host /host
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mount -t tmpfs tmp /host/tmp; mount -t configfs none /host/sys/kernel/config
# -p no:hypothesispytest: these tests use no hypothesis; its plugin imports all of it, seconds under emulation
chroot /host /bin/sh -c 'cd $checkout && HOME=/tmp PYTHONDONTWRITEBYTECODE=1 $python -m pytest -p no:cacheprovider -p no:hypothesispytest --color=no \
    -q -rs tests/test_led_gpio_sim.py ${*:-}'
echo "gpio_sim_vm: exit \$?"
poweroff -f
EOF
chmod +x initramfs/init
(cd initramfs && find . | cpio -o -H newc --quiet | gzip -1) > initramfs.cpio.gz

# --- boot
# -nic none: no network is needed, and without a NIC the firmware tries no network boot ROM. mitigations=off: the
# guest runs only this test, and under emulation the kernel's speculation barriers are pure cost.
qemu-system-x86_64 -accel "$accel" -cpu max -m 1024 -smp 1 -nographic -no-reboot -nic none \
    -kernel "kernel/boot/vmlinuz-$abi" -initrd initramfs.cpio.gz \
    -append "console=ttyS0 quiet panic=-1 mitigations=off" \
    -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap | tee guest.log
status=$(sed -n 's/.*gpio_sim_vm: exit \([0-9]*\).*/\1/p' guest.log | tail -1)
exit "${status:-3}"
