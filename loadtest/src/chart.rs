//! The run in a picture (PNG): admissions and sales per second above, checkout p99 latency per
//! second below, on the sale's clock. Text is drawn with DejaVu Sans from the system
//! (Debian's fonts-dejavu-core), registered at run time.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use hdrhistogram::Histogram;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::measure::{Measurements, Step};

const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

fn register_font() -> anyhow::Result<()> {
    let path = FONTS
        .iter()
        .find(|p| Path::new(p).exists())
        .context("no DejaVu Sans font (install fonts-dejavu-core)")?;
    let bytes: &'static [u8] = Box::leak(std::fs::read(path)?.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow!("{path} is not a usable font"))
}

pub fn draw(path: &Path, measurements: &Measurements) -> anyhow::Result<()> {
    register_font()?;
    let per_second = |times: Vec<i64>| -> BTreeMap<i64, u32> {
        let mut counts = BTreeMap::new();
        for ms in times {
            *counts.entry(ms.div_euclid(1000)).or_insert(0) += 1;
        }
        counts
    };
    let milestones = measurements.all_milestones();
    let admissions = per_second(milestones.iter().filter_map(|m| m.admitted_ms).collect());
    let sales = per_second(milestones.iter().filter_map(|m| m.bought_ms).collect());
    let mut latency: BTreeMap<i64, Histogram<u64>> = BTreeMap::new();
    for s in measurements
        .samples()
        .into_iter()
        .filter(|s| matches!(s.step, Step::Initiate | Step::Pay))
    {
        let h = latency
            .entry(s.at_ms.div_euclid(1000))
            .or_insert_with(|| Histogram::new(3).expect("a histogram"));
        let _ = h.record(s.micros.max(1));
    }
    let p99: Vec<(i64, f64)> = latency
        .iter()
        .map(|(second, h)| (*second, h.value_at_quantile(0.99) as f64 / 1000.0))
        .collect();
    let last = admissions
        .keys()
        .chain(sales.keys())
        .chain(latency.keys())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let peak = admissions
        .values()
        .chain(sales.values())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let slowest = p99.iter().map(|(_, ms)| *ms).fold(1.0, f64::max);

    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(480);
    let mut counts = ChartBuilder::on(&top)
        .caption("Admissions and sales per second", ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0..last + 1, 0..peak + peak / 10 + 1)?;
    counts
        .configure_mesh()
        .x_desc("seconds since the sale started")
        .y_desc("per second")
        .draw()?;
    let series = |map: &BTreeMap<i64, u32>| -> Vec<(i64, u32)> {
        (0..=last)
            .map(|s| (s, map.get(&s).copied().unwrap_or(0)))
            .collect()
    };
    counts
        .draw_series(LineSeries::new(series(&admissions), BLUE.stroke_width(2)))?
        .label("admitted")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    counts
        .draw_series(LineSeries::new(series(&sales), GREEN.stroke_width(2)))?
        .label("sold")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    counts
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;

    let mut slow = ChartBuilder::on(&bottom)
        .caption(
            "Checkout p99 latency (initiate and pay)",
            ("sans-serif", 24),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0..last + 1, 0.0..slowest * 1.1)?;
    slow.configure_mesh()
        .x_desc("seconds since the sale started")
        .y_desc("ms")
        .draw()?;
    slow.draw_series(LineSeries::new(p99, RED.stroke_width(2)))?;
    root.present()?;
    Ok(())
}
