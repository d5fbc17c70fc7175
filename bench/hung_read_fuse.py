#!/usr/bin/env python3
"""A file whose reads never answer, for checking DISKPLAN_READ_TIMEOUT by hand (issue 18).

Needs root and /dev/fuse (no libfuse): speaks the FUSE protocol itself, mounts a
filesystem at MOUNTPOINT holding one file, disk.img, whose attributes come from IMAGE
(a real image file) and whose reads are served from IMAGE below HANG_AT and never
answered at or past it. Runs in the foreground; Ctrl-C (or SIGTERM) unmounts, which ends
the unanswered reads with ENOTCONN.

    bench/hung_read_fuse.py IMAGE MOUNTPOINT [HANG_AT]
    DISKPLAN_READ_TIMEOUT=3 diskplan info MOUNTPOINT/disk.img
"""
import ctypes
import os
import signal
import stat
import struct
import sys

IN_HEADER = struct.Struct("<IIQQIIII")  # len, opcode, unique, nodeid, uid, gid, pid, padding
OUT_HEADER = struct.Struct("<IiQ")      # len, error, unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # ino size blocks atime mtime ctime *nsec mode nlink uid gid rdev blksize flags
LOOKUP, GETATTR, OPEN, READ, RELEASE, STATFS, FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR, ACCESS, DESTROY = (
    1, 3, 14, 15, 18, 17, 25, 26, 27, 28, 29, 34, 38)
NAME = b"disk.img"


def attr(ino, st, mode, size):
    return ATTR.pack(ino, size, (size + 511) // 512, int(st.st_atime), int(st.st_mtime), int(st.st_ctime),
                     0, 0, 0, mode, 1, 0, 0, 0, 4096, 0)


def main():
    image, mountpoint = sys.argv[1], sys.argv[2]
    hang_at = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    st = os.stat(image)
    fd = os.open("/dev/fuse", os.O_RDWR)
    libc = ctypes.CDLL(None, use_errno=True)
    opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
    if libc.mount(b"hungfuse", mountpoint.encode(), b"fuse", 0, opts.encode()) != 0:
        sys.exit("mount failed: " + os.strerror(ctypes.get_errno()))

    def stop(*_):
        libc.umount2(mountpoint.encode(), 2)  # MNT_DETACH
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    data = open(image, "rb")
    print("mounted %s/%s; reads at or past %d never answer" % (mountpoint, NAME.decode(), hang_at), flush=True)
    while True:
        try:
            req = os.read(fd, 1 << 20 | 4096)
        except OSError:
            stop()
        length, opcode, unique, node = IN_HEADER.unpack_from(req)[:4]
        body = req[IN_HEADER.size:length]
        out, err = b"", 0
        if opcode == INIT:
            major, minor = struct.unpack_from("<II", body)
            out = struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 31), 1 << 17, 0, 16, 12, 1 << 17, 1, 32, 0, 0,
                              *[0] * 7)
        elif opcode == LOOKUP:
            if body.rstrip(b"\0") == NAME and node == 1:
                out = struct.pack("<QQQQII", 2, 0, 1, 1, 0, 0) + attr(2, st, stat.S_IFREG | 0o644, st.st_size)
            else:
                err = -2
        elif opcode == GETATTR:
            a = attr(1, st, stat.S_IFDIR | 0o755, 0) if node == 1 else attr(2, st, stat.S_IFREG | 0o644, st.st_size)
            out = struct.pack("<QII", 1, 0, 0) + a
        elif opcode in (OPEN, OPENDIR):
            out = struct.pack("<QII", 0, 1 if opcode == OPEN else 0, 0)  # FOPEN_DIRECT_IO: every read comes here
        elif opcode == READ:
            _, offset, size = struct.unpack_from("<QQI", body)
            if offset + size > hang_at:
                continue  # never answered
            data.seek(offset)
            out = data.read(size)
        elif opcode == READDIR:
            out = b""
        elif opcode in (RELEASE, RELEASEDIR, FLUSH, ACCESS):
            out = b""
        elif opcode == DESTROY:
            stop()
        else:
            err = -38  # ENOSYS
        if opcode in (45,):  # FORGET/BATCH_FORGET take no reply
            continue
        if opcode == 2:  # FORGET
            continue
        os.write(fd, OUT_HEADER.pack(OUT_HEADER.size + len(out), err, unique) + out)


if __name__ == "__main__":
    main()
