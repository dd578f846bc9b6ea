/* A guest that dirties its memory at a chosen rate and pattern, for validation/ (docs/validation.md).
 *
 * Command line (multiboot, from QEMU's -append): "pattern=P rate=R ws=N base=B"
 *   P: idle (writes nothing, memory left zero), once (fills the working set, then writes nothing),
 *      seq (a pointer sweeps the working set and wraps), random (uniform pages, repeats included)
 *   R: page writes per second (one 32-bit store into a page dirties it for QEMU)
 *   N: working-set pages; B: its first byte's physical address in MiB
 * The guest first fills its working set with non-zero data (except idle), prints "READY", then
 * writes at R pages/s paced by the TSC (calibrated against the ACPI PM timer: "TSC_HZ <hz>") and
 * prints "T <PM timer ticks, 3,579,545 Hz> W <page writes>" every 125 ms on COM1, so the harness measures the rate the
 * guest really achieved (under TCG the vCPU may fall behind when the host is busy).
 */
typedef unsigned int u32;
typedef unsigned long long u64;

/* The sequential writer's pointer (the next page it writes) lives in EDI for the whole program:
 * the harness reads it with `info registers` just before `migrate`, so the model starts its
 * writer where the guest's is, and keeping it in a register dirties no page of memory. */
register u32 seq_cursor asm("edi");

#define PAGE 4096u
#define COM1 0x3f8

static inline void outb(unsigned short port, unsigned char v) {
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline unsigned char inb(unsigned short port) {
    unsigned char v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void serial_init(void) {
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0xC7);
}
static void putc_serial(char c) {
    while (!(inb(COM1 + 5) & 0x20)) {
    }
    outb(COM1, (unsigned char)c);
}
static void puts_serial(const char *s) {
    while (*s) putc_serial(*s++);
}
static void put_u64(u64 v) {
    char buf[24];
    int i = 0;
    if (v == 0) buf[i++] = '0';
    while (v) {
        /* v % 10 without libgcc: repeated subtraction on the high digit is too slow; use u32 parts */
        u32 hi = (u32)(v >> 32), lo = (u32)v;
        u32 rem_hi = hi % 10;
        hi /= 10;
        u64 mid = ((u64)rem_hi << 32) | lo;
        /* mid < 10 * 2^32: divide by 10 in two 32-bit steps */
        u32 mid_hi = (u32)(mid >> 16);
        u32 q1 = mid_hi / 10, r1 = mid_hi % 10;
        u32 mid_lo = (r1 << 16) | (u32)(mid & 0xffff);
        u32 q2 = mid_lo / 10, r2 = mid_lo % 10;
        buf[i++] = (char)('0' + r2);
        v = ((u64)hi << 32) | (((u64)q1 << 16) + q2);
    }
    while (i) putc_serial(buf[--i]);
}

static inline u64 rdtsc(void) {
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

#define PM_HZ 3579545u
#define PM_TIMER 0x608
static inline u32 pm_read(void) {
    u32 v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((unsigned short)PM_TIMER));
    return v & 0xffffff;
}

static int starts_with(const char *s, const char *p) {
    while (*p)
        if (*s++ != *p++) return 0;
    return 1;
}
static u32 parse_u32(const char *s) {
    u32 v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (u32)(*s++ - '0');
    return v;
}

struct multiboot_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline;
};

enum { IDLE, ONCE, SEQ, RANDOM };

void guest_main(struct multiboot_info *info) {
    int pattern = IDLE;
    u32 rate = 0, ws = 0, base_mib = 4;
    serial_init();
    if (info->flags & 4) {
        const char *c = (const char *)info->cmdline;
        while (*c) {
            if (starts_with(c, "pattern=")) {
                const char *p = c + 8;
                pattern = starts_with(p, "once") ? ONCE
                          : starts_with(p, "seq") ? SEQ
                          : starts_with(p, "random") ? RANDOM
                                                     : IDLE;
            } else if (starts_with(c, "rate=")) {
                rate = parse_u32(c + 5);
            } else if (starts_with(c, "ws=")) {
                ws = parse_u32(c + 3);
            } else if (starts_with(c, "base=")) {
                base_mib = parse_u32(c + 5);
            }
            while (*c && *c != ' ') c++;
            while (*c == ' ') c++;
        }
    }
    volatile u32 *base = (volatile u32 *)(base_mib << 20);
    u32 stamp = 0x5a5a0001u;
    if (pattern != IDLE)
        for (u32 p = 0; p < ws; p++) base[p * (PAGE / 4)] = stamp + p;
    puts_serial("READY pattern=");
    put_u64((u64)pattern);
    puts_serial(" rate=");
    put_u64(rate);
    puts_serial(" ws=");
    put_u64(ws);
    puts_serial("\n");
    if (pattern == IDLE || pattern == ONCE || rate == 0 || ws == 0) {
        for (;;) __asm__ volatile("cli; hlt");
    }

    /* Pacing by the TSC, calibrated against the ACPI PM timer (24 bits at 3,579,545 Hz at port
       0x608, where SeaBIOS puts it on QEMU's pc machine): the loop then does no port I/O, which
       under TCG would take QEMU's big lock that the migration thread needs for its syncs. The PM
       timer wraps every 4.7 s, so a vCPU descheduled by a busy host loses no time with it (the
       PIT's 55 ms wrap would). Reports carry PM timer ticks: the harness measures in them. */
    u32 pm_prev = pm_read();
    u32 pm_ticks = 0;
    u64 tsc_start = rdtsc();
    while (pm_ticks < PM_HZ / 5) {
        u32 now = pm_read();
        pm_ticks += (now - pm_prev) & 0xffffff;
        pm_prev = now;
    }
    u64 tsc_hz = (rdtsc() - tsc_start) * 5; /* PM_HZ / 5 ticks are 200 ms */
    puts_serial("TSC_HZ ");
    put_u64(tsc_hz);
    puts_serial("\n");
    u64 last = rdtsc(), next_report = last, writes = 0, credit = 0, pm_total = 0;
    /* A CPU-bound writer: time the vCPU did not run (QEMU's auto-converge throttle sleeps it,
     * the host deschedules it) is writes lost, not owed. It keeps at most 2 writes of credit;
     * with 64, as before, it caught up after every throttle sleep shorter than 64 writes
     * (10.7 ms at 6,000 writes/s) and QEMU's throttle did not slow it below 60 %. */
    u64 credit_cap = tsc_hz * 2;
    u32 rng = 2463534242u;
    seq_cursor = 0;
    for (;;) {
        u64 now = rdtsc();
        credit += (now - last) * rate;
        last = now;
        if (credit > credit_cap) credit = credit_cap;
        while (credit >= tsc_hz) {
            credit -= tsc_hz;
            u32 page;
            if (pattern == SEQ) {
                page = seq_cursor;
                seq_cursor = seq_cursor + 1 == ws ? 0 : seq_cursor + 1;
            } else {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                page = rng % ws;
            }
            base[page * (PAGE / 4)] = ++stamp;
            writes++;
        }
        if (now >= next_report) {
            next_report = now + (tsc_hz >> 3); /* every 125 ms */
            u32 pm_now = pm_read();
            pm_total += (pm_now - pm_prev) & 0xffffff;
            pm_prev = pm_now;
            puts_serial("T ");
            put_u64(pm_total);
            puts_serial(" W ");
            put_u64(writes);
            puts_serial("\n");
        }
    }
}
