/**
 * Taking a network interface down through SIOCGIFFLAGS/SIOCSIFFLAGS on a
 * datagram socket, as `ip link set dev NAME down` does.
 *
 * @module
 */

import { Errno } from "./errno.ts";
import { lastErrno, libc, libcExec } from "./libc.ts";

// Network interface flags (include/uapi/linux/sockios.h, if.h); struct ifreq is 40 bytes.
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
const IFREQ_FLAGS_OFFSET = 16;
const IFF_UP = 0x1;

/**
 * Clears IFF_UP on interface `name`; 0 or an errno (EINVAL for a name that
 * does not fit struct ifreq). An interface already down is left alone.
 */
export function interfaceDown(name: string): number {
  const c = libcExec();
  const sock = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return lastErrno();
  try {
    const ifr = new Uint8Array(IFREQ_SIZE);
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length >= IFNAMSIZ) return Errno.EINVAL;
    ifr.set(nameBytes);
    if (c.ioctl(sock, BigInt(SIOCGIFFLAGS), ifr) !== 0) return lastErrno();
    const view = new DataView(ifr.buffer);
    const flags = view.getUint16(IFREQ_FLAGS_OFFSET, true);
    if ((flags & IFF_UP) === 0) return 0;
    view.setUint16(IFREQ_FLAGS_OFFSET, flags & ~IFF_UP, true);
    if (c.ioctl(sock, BigInt(SIOCSIFFLAGS), ifr) !== 0) return lastErrno();
    return 0;
  } finally {
    libc().close(sock);
  }
}
