"""Naive models other simulators use, kept for contrast with the real thing."""


def cloudsim_migration_time_s(ram_bytes: float, bandwidth_bps: float) -> float:
    """CloudSim's migration delay: RAM / (bandwidth / 2). No dirty pages, no rounds, no
    blackout: a 1024 MB VM on a 1 Gbit/s link takes 16.384 s whatever it is doing."""
    return ram_bytes / (bandwidth_bps / 2.0)
