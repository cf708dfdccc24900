//! `machinemate-api eval --photos DIR`: every configured prompt variant (or those of
//! `--variants`) run over a folder of photos whose true machine is known, through the
//! same steps as `POST /identify` (the photo prepared as for the app, the same question
//! to the model, the same matching), and what each variant earns: accuracy, what it
//! mistook for what, and what it cost in tokens when the model reports usage.
//!
//! The true machine of a photo is the start of its file name, up to the first `-`
//! (`leg_press-01.jpg`; machine ids hold no `-`), or a CSV of `file,machine_id` lines
//! (`--labels`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

use super::{Identifier, VisionCatalog, ask};
use crate::config::variants::Variant;
use crate::config::{IdentificationMode, Settings};
use crate::db::{Db, identify as records};
use crate::vision::image;

pub struct EvalArgs {
    pub photos: PathBuf,
    pub labels: Option<PathBuf>,
    pub variants: Option<Vec<Variant>>,
}

#[derive(Debug, Default, Serialize)]
pub struct VariantReport {
    pub variant: String,
    pub model: String,
    pub photos: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// Answered "Unknown" (no catalog machine).
    pub unknown: usize,
    /// Unusable answers by why (`unparseable`, `refused`, ...).
    pub failures: BTreeMap<String, usize>,
    /// Photos the model could not be asked about (timeouts, refusals of the request).
    pub unavailable: usize,
    /// `truth -> predicted` with counts, most frequent first.
    pub confusions: Vec<Confusion>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub image_tokens: Option<u64>,
    pub mean_latency_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Confusion {
    pub truth: String,
    pub predicted: String,
    pub count: usize,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub photos: usize,
    pub variants: Vec<VariantReport>,
}

/// The photos of `dir` (JPEG and PNG) with their true machine ids.
pub fn labelled_photos(
    dir: &Path,
    labels: Option<&Path>,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let csv: Option<BTreeMap<String, String>> = labels
        .map(|path| -> anyhow::Result<_> {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Ok(text
                .lines()
                .filter_map(|line| {
                    let (file, id) = line.split_once(',')?;
                    let (file, id) = (file.trim(), id.trim());
                    (file != "file").then(|| (file.to_owned(), id.to_owned()))
                })
                .collect())
        })
        .transpose()?;
    let mut photos = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("jpg" | "jpeg" | "png")) {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let truth = match &csv {
            Some(csv) => csv.get(&name).cloned(),
            None => name.split(['-', '.']).next().map(str::to_owned),
        };
        match truth {
            Some(truth) if crate::domain::machine_id::is_machine_id(&truth) => {
                photos.push((path, truth))
            }
            _ => bail!(
                "{name}: no true machine id (name it `<machine_id>-N.jpg`, or list it in --labels)"
            ),
        }
    }
    photos.sort();
    if photos.is_empty() {
        bail!("{}: no JPEG or PNG photos", dir.display());
    }
    Ok(photos)
}

/// Runs the evaluation; the progress bar goes to stderr.
pub async fn run(settings: &Settings, args: EvalArgs) -> anyhow::Result<Report> {
    let photos = labelled_photos(&args.photos, args.labels.as_deref())?;
    let variants = args
        .variants
        .unwrap_or_else(|| settings.fireworks.variants.clone());
    let identifier = Identifier::new(
        &settings.fireworks,
        IdentificationMode::Fireworks,
        reqwest::Client::new(),
    );
    let vision = identifier
        .vision()
        .context("FIREWORKS_API_KEY is required to evaluate")?;
    let db = Db::connect_lazy(&settings.database)?;
    let catalog = VisionCatalog::new(records::catalog_entries(&db).await?);
    let progress = indicatif::ProgressBar::new((photos.len() * variants.len()) as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({eta} left)")
            .expect("a valid template"),
    );
    let mut reports = Vec::new();
    for variant in &variants {
        let mut report = VariantReport {
            variant: variant.name().to_owned(),
            model: vision.model_for_variant(variant).to_owned(),
            photos: photos.len(),
            ..Default::default()
        };
        let (mut confusions, mut latency_ms) = (BTreeMap::<(String, String), usize>::new(), 0.0);
        progress.set_message(variant.name());
        for (path, truth) in &photos {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let format =
                image::sniff(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let prepared = image::prepare_off_thread(bytes.into(), format)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            match ask::which_machine(vision, &catalog, variant, &prepared).await {
                Ok(asked) => {
                    latency_ms += asked.upstream.as_secs_f64() * 1e3;
                    let answer = asked.answer;
                    add(&mut report.prompt_tokens, answer.usage.prompt_tokens);
                    add(
                        &mut report.completion_tokens,
                        answer.usage.completion_tokens,
                    );
                    add(&mut report.image_tokens, answer.usage.image_tokens);
                    if let Some(failure) = answer.failure {
                        *report.failures.entry(failure.to_owned()).or_default() += 1;
                    }
                    let predicted = answer.machine_id.unwrap_or_else(|| "unknown".into());
                    if predicted == *truth {
                        report.correct += 1;
                    } else {
                        if predicted == "unknown" {
                            report.unknown += 1;
                        }
                        *confusions.entry((truth.clone(), predicted)).or_default() += 1;
                    }
                }
                Err(unavailable) => {
                    report.unavailable += 1;
                    latency_ms += unavailable.upstream.as_secs_f64() * 1e3;
                }
            }
            progress.inc(1);
        }
        report.accuracy = report.correct as f64 / photos.len() as f64;
        report.mean_latency_ms = latency_ms / photos.len() as f64;
        let mut confusions: Vec<Confusion> = confusions
            .into_iter()
            .map(|((truth, predicted), count)| Confusion {
                truth,
                predicted,
                count,
            })
            .collect();
        confusions.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.truth.cmp(&b.truth)));
        report.confusions = confusions;
        reports.push(report);
    }
    progress.finish_and_clear();
    Ok(Report {
        photos: photos.len(),
        variants: reports,
    })
}

fn add(total: &mut Option<u64>, value: Option<u32>) {
    if let Some(value) = value {
        *total = Some(total.unwrap_or(0) + u64::from(value));
    }
}

/// The report as an aligned text table, with each variant's most frequent confusions.
pub fn table(report: &Report) -> String {
    let tokens = |t: Option<u64>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
    let mut out = format!(
        "{} photos\n\n{:<14} {:<44} {:>8} {:>8} {:>7} {:>8} {:>11} {:>10} {:>10} {:>9}\n",
        report.photos,
        "variant",
        "model",
        "accuracy",
        "correct",
        "unknown",
        "failures",
        "unavailable",
        "prompt tk",
        "image tk",
        "ms/photo"
    );
    for v in &report.variants {
        out.push_str(&format!(
            "{:<14} {:<44} {:>7.1}% {:>8} {:>7} {:>8} {:>11} {:>10} {:>10} {:>9.0}\n",
            v.variant,
            v.model,
            v.accuracy * 100.0,
            v.correct,
            v.unknown,
            v.failures.values().sum::<usize>(),
            v.unavailable,
            tokens(v.prompt_tokens),
            tokens(v.image_tokens),
            v.mean_latency_ms
        ));
    }
    for v in &report.variants {
        if v.confusions.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{} mistook:\n", v.variant));
        for c in v.confusions.iter().take(10) {
            out.push_str(&format!(
                "  {:>4} x {} -> {}\n",
                c.count, c.truth, c.predicted
            ));
        }
    }
    out
}
