/**
 * A synthetic fleet of node_exporter targets for the ingest benchmark: the
 * series a Prometheus scraping `job="node"` would hold, and values that move
 * the way real ones do (counters rising at plausible rates with the precision
 * node_exporter reports, gauges wandering, many series constant), so that
 * the bytes a storage engine writes per sample are realistic too.
 *
 * Everything comes from a seeded {@link Prng}: the same seed and series
 * count give the same fleet and the same values.
 */
import { Prng } from './prng.ts';

/** One label pair, as the remote-write encoder takes it. */
export interface BenchLabel {
  readonly name: string;
  readonly value: string;
}

/** How a series' value evolves from one scrape to the next. */
export const ValueKind = {
  /** Never changes (info metrics, sizes, limits, boot time). */
  CONST: 0,
  /** Rises by about `rate` per second, rounded to `step`; stays put with probability `idle`. */
  COUNTER: 1,
  /** Random walk with step deviation `rate`, clamped to [min, max], rounded to `step`. */
  GAUGE: 2,
  /** The scrape time in seconds with sub-millisecond noise (node_time_seconds). */
  CLOCK: 3,
  /** A fresh value in [min, max) each scrape, full float precision (durations). */
  NOISE: 4,
} as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];

/** A value model for one series. */
interface Spec {
  kind: ValueKind;
  /** Initial value. */
  init: number;
  /** COUNTER: increase per second; GAUGE: standard step per scrape. */
  rate?: number;
  /** Rounding quantum; 0 keeps full precision. */
  step?: number;
  /** COUNTER: probability of not increasing in a scrape. */
  idle?: number;
  min?: number;
  max?: number;
}

/** One generated target (a host running node_exporter). */
export interface Host {
  /** `host-N:9100`. */
  instance: string;
  /** Offset of its scrapes within the interval, ms (Prometheus spreads targets this way). */
  offsetMs: number;
  /** Index of its first series in {@link Fleet}'s columns. */
  firstSeries: number;
  /** Number of its series. */
  numSeries: number;
}

/** The whole fleet: hosts, and per-series labels and value-model columns. */
export interface Fleet {
  hosts: Host[];
  /** Per series: sorted labels (shared objects; do not modify). */
  labels: BenchLabel[][];
  /** Per series: index into {@link metricNames}. */
  metric: Uint32Array;
  metricNames: string[];
  kind: Uint8Array;
  value: Float64Array;
  rate: Float64Array;
  step: Float64Array;
  idle: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

const CLUSTERS = [
  { cluster: 'prod-eu-1', region: 'eu-west-1', env: 'production' },
  { cluster: 'prod-us-1', region: 'us-east-1', env: 'production' },
  { cluster: 'staging-eu-1', region: 'eu-west-1', env: 'staging' },
] as const;
const ROLES = ['web', 'api', 'db', 'cache', 'batch', 'ingest'] as const;
const GIB = 1024 ** 3;

/** Rounds `v` to a multiple of `step` without drifting into 0.30000000000000004 territory. */
export function quantize(v: number, step: number): number {
  if (step === 0) return v;
  if (step >= 1) return Math.round(v / step) * step;
  const inv = Math.round(1 / step);
  return Math.round(v * inv) / inv;
}

/**
 * Builds a fleet of exactly `numSeries` series: whole hosts of about 170 to
 * 230 series each (depending on their CPU, disk, interface and filesystem
 * counts), the last host cut short to hit the total.
 */
export function buildFleet(numSeries: number, seed: number): Fleet {
  const rng = new Prng(seed);
  const labels: BenchLabel[][] = [];
  const metric: number[] = [];
  const metricIndex = new Map<string, number>();
  const metricNames: string[] = [];
  const kind: number[] = [];
  const value: number[] = [];
  const rate: number[] = [];
  const step: number[] = [];
  const idle: number[] = [];
  const min: number[] = [];
  const max: number[] = [];
  const hosts: Host[] = [];
  const labelCache = new Map<string, BenchLabel>();
  const lbl = (name: string, v: string): BenchLabel => {
    const k = name + '\xff' + v;
    let l = labelCache.get(k);
    if (l === undefined) {
      l = { name, value: v };
      labelCache.set(k, l);
    }
    return l;
  };

  for (let h = 0; labels.length < numSeries; h++) {
    const r = rng.fork(h);
    const c = CLUSTERS[h % CLUSTERS.length]!;
    const instance = `host-${h}:9100`;
    const base: BenchLabel[] = [
      lbl('cluster', c.cluster),
      lbl('env', c.env),
      lbl('instance', instance),
      lbl('job', 'node'),
      lbl('region', c.region),
      lbl('replica', 'prometheus-0'),
      lbl('role', r.pick(ROLES)),
    ];
    const first = labels.length;
    const add = (name: string, extra: [string, string][], spec: Spec): void => {
      if (labels.length >= numSeries) return;
      const ls = [lbl('__name__', name), ...base, ...extra.map(([n, v]) => lbl(n, v))];
      ls.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      let m = metricIndex.get(name);
      if (m === undefined) {
        m = metricNames.length;
        metricIndex.set(name, m);
        metricNames.push(name);
      }
      labels.push(ls);
      metric.push(m);
      kind.push(spec.kind);
      const s = spec.step ?? 0;
      value.push(quantize(spec.init, s));
      rate.push(spec.rate ?? 0);
      step.push(s);
      idle.push(spec.idle ?? 0);
      min.push(spec.min ?? -Infinity);
      max.push(spec.max ?? Infinity);
    };
    const konst = (init: number): Spec => ({ kind: ValueKind.CONST, init });
    const counter = (init: number, perSec: number, stepQ: number, idleP = 0): Spec => ({
      kind: ValueKind.COUNTER,
      init,
      rate: perSec,
      step: stepQ,
      idle: idleP,
    });
    const gauge = (init: number, sd: number, lo: number, hi: number, stepQ: number): Spec => ({
      kind: ValueKind.GAUGE,
      init,
      rate: sd,
      min: lo,
      max: hi,
      step: stepQ,
    });
    const noise = (lo: number, hi: number): Spec => ({ kind: ValueKind.NOISE, init: r.range(lo, hi), min: lo, max: hi });

    const cpus = r.pick([2, 4, 4, 4, 8, 8]);
    const uptime = r.range(3, 400) * 86400;
    const busy = r.range(0.02, 0.4);
    const memTotal = r.pick([8, 16, 16, 32, 64]) * GIB;

    // CPU: per-mode seconds with two decimals (USER_HZ ticks), summing to ~1 s/s per CPU.
    const modes: [string, number][] = [
      ['idle', 1 - busy],
      ['iowait', busy * 0.05],
      ['irq', 0],
      ['nice', 0],
      ['softirq', busy * 0.03],
      ['steal', busy * 0.01],
      ['system', busy * 0.25],
      ['user', busy * 0.66],
    ];
    for (let cpu = 0; cpu < cpus; cpu++) {
      for (const [mode, share] of modes) {
        const s = share === 0 ? konst(0) : counter(uptime * share * r.range(0.8, 1.2), share, 0.01, share < 0.01 ? 0.6 : 0);
        add('node_cpu_seconds_total', [['cpu', String(cpu)], ['mode', mode]], s);
      }
      add('node_cpu_guest_seconds_total', [['cpu', String(cpu)], ['mode', 'nice']], konst(0));
      add('node_cpu_guest_seconds_total', [['cpu', String(cpu)], ['mode', 'user']], konst(0));
    }

    // Network interfaces.
    const devices = ['eth0', 'lo', ...(r.chance(0.4) ? ['docker0'] : []), ...(r.chance(0.3) ? ['eth1'] : [])];
    for (const dev of devices) {
      const bps = dev === 'lo' ? r.range(1e3, 1e5) : r.range(1e4, 5e6);
      const d: [string, string][] = [['device', dev]];
      add('node_network_receive_bytes_total', d, counter(bps * uptime, bps, 1));
      add('node_network_transmit_bytes_total', d, counter(bps * uptime * 0.7, bps * 0.7, 1));
      add('node_network_receive_packets_total', d, counter((bps / 800) * uptime, bps / 800, 1));
      add('node_network_transmit_packets_total', d, counter((bps / 900) * uptime, bps / 900, 1));
      add('node_network_receive_errs_total', d, counter(r.int(0, 3), 0.001, 1, 0.995));
      add('node_network_transmit_errs_total', d, konst(0));
      add('node_network_receive_drop_total', d, counter(r.int(0, 500), 0.01, 1, 0.9));
      add('node_network_transmit_drop_total', d, konst(0));
      add('node_network_up', d, konst(1));
      add('node_network_mtu_bytes', d, konst(dev === 'lo' ? 65536 : 1500));
    }

    // Block devices.
    const disks = r.chance(0.5) ? ['nvme0n1'] : ['sda', 'sdb'];
    for (const dev of disks) {
      const iops = r.range(1, 300);
      const d: [string, string][] = [['device', dev]];
      add('node_disk_reads_completed_total', d, counter(iops * 0.3 * uptime, iops * 0.3, 1, 0.1));
      add('node_disk_writes_completed_total', d, counter(iops * 0.7 * uptime, iops * 0.7, 1, 0.05));
      add('node_disk_read_bytes_total', d, counter(iops * 0.3 * 16384 * uptime, iops * 0.3 * 16384, 512, 0.1));
      add('node_disk_written_bytes_total', d, counter(iops * 0.7 * 8192 * uptime, iops * 0.7 * 8192, 512, 0.05));
      add('node_disk_io_time_seconds_total', d, counter(iops * 0.001 * uptime, iops * 0.001, 0.001, 0.05));
      add('node_disk_read_time_seconds_total', d, counter(iops * 0.0005 * uptime, iops * 0.0005, 0.001, 0.1));
      add('node_disk_write_time_seconds_total', d, counter(iops * 0.001 * uptime, iops * 0.001, 0.001, 0.05));
      add('node_disk_io_now', d, gauge(0, 0.7, 0, 32, 1));
    }

    // Filesystems.
    const mounts: [string, string, string][] = [
      ['/dev/root', 'ext4', '/'],
      ['tmpfs', 'tmpfs', '/run'],
      ...(r.chance(0.6) ? [['/dev/sdb1', 'xfs', '/var/lib/data'] as [string, string, string]] : []),
      ...(r.chance(0.3) ? [['/dev/sda15', 'vfat', '/boot/efi'] as [string, string, string]] : []),
    ];
    for (const [device, fstype, mountpoint] of mounts) {
      const size = fstype === 'tmpfs' ? memTotal / 10 : r.pick([20, 50, 100, 500]) * GIB;
      const used = size * r.range(0.05, 0.85);
      const f: [string, string][] = [['device', device], ['fstype', fstype], ['mountpoint', mountpoint]];
      add('node_filesystem_size_bytes', f, konst(size));
      add('node_filesystem_avail_bytes', f, gauge(size - used, 4096 * 50, 0, size, 4096));
      add('node_filesystem_free_bytes', f, gauge(size - used + size * 0.05, 4096 * 50, 0, size, 4096));
      add('node_filesystem_files', f, konst(Math.round(size / 16384)));
      add('node_filesystem_files_free', f, gauge(Math.round(size / 20000), 20, 0, size / 16384, 1));
      add('node_filesystem_readonly', f, konst(0));
      add('node_filesystem_device_error', f, konst(0));
    }

    // Memory.
    const memUsed = memTotal * r.range(0.2, 0.8);
    add('node_memory_MemTotal_bytes', [], konst(memTotal));
    add('node_memory_MemFree_bytes', [], gauge(memTotal - memUsed, 2e6, 1e8, memTotal, 4096));
    add('node_memory_MemAvailable_bytes', [], gauge(memTotal - memUsed * 0.8, 2e6, 1e8, memTotal, 4096));
    add('node_memory_Buffers_bytes', [], gauge(memTotal * 0.02, 2e4, 0, memTotal, 4096));
    add('node_memory_Cached_bytes', [], gauge(memTotal * 0.3, 1e6, 0, memTotal, 4096));
    add('node_memory_Active_bytes', [], gauge(memUsed * 0.6, 1e6, 0, memTotal, 4096));
    add('node_memory_Inactive_bytes', [], gauge(memUsed * 0.3, 1e6, 0, memTotal, 4096));
    add('node_memory_Dirty_bytes', [], gauge(1e6, 2e5, 0, 1e9, 4096));
    add('node_memory_Shmem_bytes', [], gauge(memTotal * 0.01, 1e4, 0, memTotal, 4096));
    add('node_memory_Slab_bytes', [], gauge(memTotal * 0.03, 1e4, 0, memTotal, 4096));
    add('node_memory_SwapTotal_bytes', [], konst(0));
    add('node_memory_SwapFree_bytes', [], konst(0));
    add('node_memory_HugePages_Total', [], konst(0));

    // Kernel and system.
    const now = 1.7e9;
    add('node_boot_time_seconds', [], konst(Math.round(now - uptime)));
    add('node_time_seconds', [], { kind: ValueKind.CLOCK, init: now });
    add('node_load1', [], gauge(cpus * busy, 0.3, 0, cpus * 4, 0.01));
    add('node_load5', [], gauge(cpus * busy, 0.1, 0, cpus * 4, 0.01));
    add('node_load15', [], gauge(cpus * busy, 0.04, 0, cpus * 4, 0.01));
    add('node_context_switches_total', [], counter(uptime * 3000 * cpus, 3000 * cpus, 1));
    add('node_intr_total', [], counter(uptime * 2000 * cpus, 2000 * cpus, 1));
    add('node_forks_total', [], counter(uptime * 5, 5, 1, 0.05));
    add('node_procs_running', [], gauge(2, 1, 1, cpus * 2, 1));
    add('node_procs_blocked', [], gauge(0, 0.3, 0, 10, 1));
    add('node_entropy_available_bits', [], konst(256));
    add('node_filefd_allocated', [], gauge(2000, 15, 500, 1e5, 1));
    add('node_filefd_maximum', [], konst(9223372036854775807));
    add('node_sockstat_TCP_inuse', [], gauge(50, 3, 1, 5000, 1));
    add('node_sockstat_TCP_tw', [], gauge(20, 4, 0, 5000, 1));
    add('node_netstat_Tcp_CurrEstab', [], gauge(40, 2, 0, 5000, 1));
    add('node_netstat_Tcp_ActiveOpens', [], counter(uptime * 2, 2, 1, 0.1));
    add('node_netstat_Tcp_PassiveOpens', [], counter(uptime * 3, 3, 1, 0.1));
    add('node_netstat_Tcp_RetransSegs', [], counter(uptime * 0.05, 0.05, 1, 0.6));
    add('node_vmstat_pgfault', [], counter(uptime * 4000, 4000, 1));
    add('node_vmstat_pgmajfault', [], counter(uptime * 0.1, 0.1, 1, 0.7));
    add('node_vmstat_pswpin', [], konst(0));
    add('node_vmstat_pswpout', [], konst(0));
    add(
      'node_uname_info',
      [
        ['domainname', '(none)'],
        ['machine', 'x86_64'],
        ['nodename', `host-${h}`],
        ['release', '6.1.0-18-amd64'],
        ['sysname', 'Linux'],
        ['version', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)'],
      ],
      konst(1),
    );
    add('node_os_info', [['id', 'debian'], ['name', 'Debian GNU/Linux'], ['version_id', '12']], konst(1));
    add('node_exporter_build_info', [['goversion', 'go1.19.8'], ['revision', 'unknown'], ['version', '1.5.0']], konst(1));
    for (const coll of ['cpu', 'diskstats', 'filesystem', 'loadavg', 'meminfo', 'netdev', 'netstat', 'stat', 'time', 'vmstat']) {
      add('node_scrape_collector_duration_seconds', [['collector', coll]], noise(0.00005, 0.02));
      add('node_scrape_collector_success', [['collector', coll]], konst(1));
    }

    // The exporter's own Go runtime and process.
    add('go_goroutines', [], gauge(8, 0.5, 6, 12, 1));
    add('go_threads', [], konst(r.int(6, 12)));
    add('go_info', [['version', 'go1.19.8']], konst(1));
    for (const q of ['0', '0.25', '0.5', '0.75', '1']) {
      add('go_gc_duration_seconds', [['quantile', q]], gauge(0.00003 * (1 + Number(q)), 0.000003, 0.00001, 0.001, 0));
    }
    add('go_gc_duration_seconds_sum', [], counter(uptime * 0.0001, 0.0001, 0, 0.3));
    add('go_gc_duration_seconds_count', [], counter(uptime * 0.2, 0.2, 1, 0.2));
    add('go_memstats_alloc_bytes', [], gauge(3e6, 3e5, 1e6, 2e7, 8));
    add('go_memstats_alloc_bytes_total', [], counter(uptime * 2e5, 2e5, 8));
    add('go_memstats_heap_alloc_bytes', [], gauge(3e6, 3e5, 1e6, 2e7, 8));
    add('go_memstats_heap_idle_bytes', [], gauge(4e6, 2e5, 1e6, 2e7, 8192));
    add('go_memstats_heap_inuse_bytes', [], gauge(5e6, 2e5, 1e6, 2e7, 8192));
    add('go_memstats_heap_objects', [], gauge(2e4, 2e3, 5e3, 2e5, 1));
    add('go_memstats_heap_sys_bytes', [], konst(11829248));
    add('go_memstats_mallocs_total', [], counter(uptime * 2000, 2000, 1));
    add('go_memstats_frees_total', [], counter(uptime * 1990, 1990, 1));
    add('go_memstats_next_gc_bytes', [], gauge(4.2e6, 1e5, 4e6, 2e7, 8));
    add('go_memstats_sys_bytes', [], konst(2.5e7));
    add('process_cpu_seconds_total', [], counter(uptime * 0.002, 0.002, 0.01, 0.5));
    add('process_resident_memory_bytes', [], gauge(2.2e7, 1e5, 1e7, 1e8, 4096));
    add('process_virtual_memory_bytes', [], konst(7.3e8));
    add('process_virtual_memory_max_bytes', [], konst(1.8446744073709552e19));
    add('process_open_fds', [], gauge(9, 0.3, 7, 20, 1));
    add('process_max_fds', [], konst(1048576));
    add('process_start_time_seconds', [], konst(Math.round((now - uptime + 5) * 100) / 100));
    for (const code of ['200', '500', '503']) {
      add('promhttp_metric_handler_requests_total', [['code', code]], code === '200' ? counter(uptime / 15, 1 / 15, 1) : konst(0));
    }
    add('promhttp_metric_handler_requests_in_flight', [], konst(1));

    // Series Prometheus itself adds to every scrape.
    const scraped = labels.length - first;
    add('up', [], konst(1));
    add('scrape_duration_seconds', [], noise(0.005, 0.06));
    add('scrape_samples_scraped', [], konst(scraped));
    add('scrape_samples_post_metric_relabeling', [], konst(scraped));
    add('scrape_series_added', [], konst(0));

    hosts.push({ instance, offsetMs: r.int(0, 14_999), firstSeries: first, numSeries: labels.length - first });
  }

  return {
    hosts,
    labels,
    metric: Uint32Array.from(metric),
    metricNames,
    kind: Uint8Array.from(kind),
    value: Float64Array.from(value),
    rate: Float64Array.from(rate),
    step: Float64Array.from(step),
    idle: Float64Array.from(idle),
    min: Float64Array.from(min),
    max: Float64Array.from(max),
  };
}

/**
 * Advances series `i` to a scrape at `tMs`, `intervalS` seconds after the
 * previous one, and returns its new value (the first call for a series
 * should pass `intervalS = 0` to emit the initial value).
 */
export function advance(f: Fleet, i: number, tMs: number, intervalS: number, rng: Prng): number {
  const k = f.kind[i]!;
  let v = f.value[i]!;
  switch (k) {
    case ValueKind.CONST:
      return v;
    case ValueKind.COUNTER:
      if (intervalS > 0 && !(f.idle[i]! > 0 && rng.float() < f.idle[i]!)) {
        v = quantize(v + f.rate[i]! * intervalS * (0.5 + rng.float()), f.step[i]!);
      }
      break;
    case ValueKind.GAUGE:
      if (intervalS > 0) {
        // Sum of two uniforms: a cheap bell-ish step. A third of the scrapes see no change.
        if (rng.float() < 0.33) return v;
        const d = (rng.float() + rng.float() - 1) * f.rate[i]! * 1.7;
        v = quantize(Math.min(f.max[i]!, Math.max(f.min[i]!, v + d)), f.step[i]!);
      }
      break;
    case ValueKind.CLOCK:
      v = tMs / 1000 + rng.float() * 0.003;
      break;
    case ValueKind.NOISE:
      if (intervalS > 0) v = f.min[i]! + rng.float() * (f.max[i]! - f.min[i]!);
      break;
  }
  f.value[i] = v;
  return v;
}
