"""The GPUs: NVML readings, the sampler, eligibility, the model catalog, block planning and the per-GPU fleet."""
