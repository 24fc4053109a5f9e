"""The GPUs' electricity: NVML power readings (replayed from a recorded snapshot) integrated to kWh per day, a
reading seen twice or after a long gap adds nothing, and the cost at the provider's price."""

from __future__ import annotations

from pathlib import Path

import pytest

from farnode_desktop.core.daily_totals import day_start
from farnode_desktop.core.gpus.energy import EnergyMeter, electricity
from farnode_desktop.core.gpus.nvml import GpuReader
from farnode_desktop.core.gpus.nvml_fake import FakeNvml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvml"
T0 = day_start("2026-12-07")


def test_power_readings_over_time_become_kilowatt_hours(tmp_path: Path) -> None:
    nvml = FakeNvml.from_file(FIXTURES / "linux_rtx4090_rtx3060.json")
    now = [T0]
    reader = GpuReader(nvml, clock=lambda: now[0])
    meter = EnergyMeter(tmp_path / "energy.json")
    nvml.gpu(0)["power"], nvml.gpu(1)["power"] = 300_000, 100_000  # milliwatts, as NVML reports
    for _ in range(1800):  # an hour sampled every 2 s
        meter.observe(reader.inventory(), now[0])
        now[0] += 2
    meter.observe(reader.inventory(), now[0])
    meter.observe(reader.inventory(), now[0])  # the same sample again adds nothing
    assert meter.kwh("2026-12-07") == pytest.approx(0.4)  # (300 W + 100 W) x 1 h
    nvml.gpu(0)["power"] = 100_000
    now[0] += 600  # ten minutes without a sample (the app was closed): not joined
    meter.observe(reader.inventory(), now[0])
    now[0] += 2
    meter.observe(reader.inventory(), now[0])
    assert meter.kwh("2026-12-07") == pytest.approx(0.4 + 200 * 2 / 3600 / 1000)
    meter.close(now[0])
    assert EnergyMeter(tmp_path / "energy.json").kwh("2026-12-07") == pytest.approx(meter.kwh("2026-12-07"))


def test_electricity_per_day_and_its_cost_at_the_providers_price(tmp_path: Path) -> None:
    meter = EnergyMeter(tmp_path / "energy.json")
    for day in range(3):
        meter.totals.add_span(T0 + day * 86400, T0 + (day + 1) * 86400, {"wh": 2000.0 + 1000 * day})
    meter.totals.add_span(T0 + 3 * 86400, T0 + 3 * 86400 + 3600, {"wh": 500.0})
    now = T0 + 3 * 86400 + 3600
    priced = electricity(meter, now, 0.3)
    assert (priced.kwh_per_day, priced.days, priced.today_kwh) == (pytest.approx(3.0), 3, pytest.approx(0.5))
    assert priced.cost_per_day == pytest.approx(0.9)
    assert priced.text == "GPUs drew 3.00 kWh a day (last 3 days), 0.50 kWh today · about 0.90 a day at 0.3 per kWh"
    unpriced = electricity(meter, now, None)
    assert unpriced.cost_per_day is None and "enter your price per kWh in Settings" in unpriced.text
    no_gpu = electricity(EnergyMeter(tmp_path / "none.json"), now, 0.3)  # nothing ever reported its power
    assert not no_gpu.measured and no_gpu.text.startswith("No GPU has reported its power draw")
    first = EnergyMeter(tmp_path / "new.json")
    reader = GpuReader(FakeNvml.from_file(FIXTURES / "linux_rtx4090.json"), clock=lambda: now)
    first.observe(reader.inventory(), now)  # one reading: no energy yet, but the GPU reports its power
    first_day = electricity(first, now, 0.3)
    assert first_day.kwh_per_day is None and first_day.text.startswith("GPUs drew 0.00 kWh so far today")
