//! `images pull|ls|rm|import|export|tag`, through the `myimages` library.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use myimages::progress::{Kind, Status};
use myimages::{Credentials, Progress, PullOptions, RegistryOptions};

use crate::cli::{ImagesCommand, RegistryFlags};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::images;
use crate::spec::label_args;
use crate::table::Table;

pub async fn run(client: &Client, command: ImagesCommand) -> Result<i32> {
    match command {
        ImagesCommand::Pull {
            registry,
            snapshotter,
            print_chainid,
            reference,
        } => {
            let images = client.images(snapshotter.as_deref());
            pull(&images, &reference, &registry, true, print_chainid).await
        }
        ImagesCommand::List { quiet, filters } => list(client, quiet, &filters).await,
        ImagesCommand::Delete { sync, refs } => {
            let images = client.images(None);
            for name in &refs {
                match images.delete_image(name, sync).await {
                    Ok(()) => println!("{name}"),
                    Err(e) if e.is_not_found() => eprintln!("myctr: {name}: image not found"),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(0)
        }
        ImagesCommand::Import {
            base_name,
            platform,
            no_unpack,
            snapshotter,
            input,
        } => {
            let images = client.images(snapshotter.as_deref());
            let options = myimages::ImportOptions {
                base_name: Some(base_name.unwrap_or_else(myimages::archive::default_base_name)),
                platform: images::platform(platform.as_deref())?,
                unpack: !no_unpack,
            };
            import(&images, &input, &options).await
        }
        ImagesCommand::Export {
            skip_manifest_json,
            platform,
            all_platforms,
            output,
            images: names,
        } => {
            let options = myimages::ExportOptions {
                platform: images::platform(platform.as_deref())?,
                all_platforms,
                skip_manifest_json,
            };
            export(client, &output, &names, &options).await
        }
        ImagesCommand::Tag {
            force,
            source,
            targets,
        } => {
            let images = client.images(None);
            for target in &targets {
                images.tag_image(&source, target, force).await?;
                println!("{target}");
            }
            Ok(0)
        }
    }
}

/// The library's options from ctr's registry flags.
pub fn pull_options(flags: &RegistryFlags, unpack: bool) -> Result<PullOptions> {
    Ok(PullOptions {
        registry: RegistryOptions {
            plain_http: flags.plain_http,
            credentials: flags.user.as_deref().map(Credentials::parse),
            skip_verify: flags.skip_verify,
        },
        platform: images::platform(flags.platform.as_deref())?,
        unpack,
        labels: label_args(&flags.label),
        max_concurrent_downloads: flags.max_concurrent_downloads,
    })
}

/// `images pull` and `content fetch`: progress on stdout while it runs.
pub async fn pull(
    images: &myimages::Client,
    reference: &str,
    flags: &RegistryFlags,
    unpack: bool,
    print_chainid: bool,
) -> Result<i32> {
    let options = pull_options(flags, unpack)?;
    let display = Display::new();
    let start = Instant::now();
    let result = images
        .pull(reference, &options, &|p: &Progress| display.event(p))
        .await;
    display.finish();
    let image = result?;
    if unpack {
        let resolved = images.resolve_record(&image, &options.platform).await?;
        println!(
            "unpacking {} {}...",
            resolved.platform(),
            resolved.target.digest
        );
        if print_chainid && let Some(top) = resolved.top_chain_id() {
            println!("image chain ID: {top}");
        }
    }
    println!("done: {}", go_duration(start.elapsed()));
    Ok(0)
}

/// Progress of a pull: bars on a terminal, one line per finished blob otherwise.
struct Display {
    bars: Option<Bars>,
    printed: Mutex<Vec<String>>,
}

/// The bars on a terminal, in the order their blobs appeared.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<(String, ProgressBar)>>,
}

impl Display {
    fn new() -> Display {
        let bars = std::io::stdout().is_terminal().then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bars: Mutex::new(Vec::new()),
        });
        Display {
            bars,
            printed: Mutex::new(Vec::new()),
        }
    }

    fn event(&self, p: &Progress) {
        let key = p.key();
        let status = p.status.as_str();
        let Some(Bars { multi, bars }) = &self.bars else {
            // Without a terminal: each blob once, when it is settled.
            let settled = matches!(p.status, Status::Resolved | Status::Exists | Status::Done);
            if settled {
                let mut printed = self.printed.lock().unwrap();
                if !printed.contains(&key) {
                    println!("{key}: {status}");
                    printed.push(key);
                }
            }
            return;
        };
        let mut bars = bars.lock().unwrap();
        let index = match bars.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let bar = multi.add(ProgressBar::new(p.total.max(1)));
                let template = if p.kind == Kind::Reference {
                    "{prefix:.bold} {msg}"
                } else {
                    "{prefix:.bold} {msg:<12} [{bar:24}] {bytes}/{total_bytes}"
                };
                let style = ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
                bar.set_style(style);
                bar.set_prefix(format!("{key}:"));
                bars.push((key.clone(), bar));
                bars.len() - 1
            }
        };
        let bar = &bars[index].1;
        if p.kind == Kind::Reference {
            bar.set_length(1);
            bar.set_position(u64::from(p.status == Status::Resolved));
        } else {
            bar.set_length(p.total.max(1));
            bar.set_position(p.done.min(p.total));
        }
        bar.set_message(status.to_owned());
        if matches!(p.status, Status::Resolved | Status::Exists | Status::Done) {
            bar.finish();
        }
    }

    fn finish(&self) {
        if let Some(Bars { multi, bars }) = &self.bars {
            for (_, bar) in bars.lock().unwrap().iter() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
            let _ = multi.clear();
            // What was shown stays: print it once, plainly.
            for (key, bar) in bars.lock().unwrap().iter() {
                println!("{key}: {}", bar.message());
            }
        }
        let _ = std::io::stdout().flush();
    }
}

/// Go's `time.Duration.String()` for what a pull takes (`85.2ms`, `1.5s`).
fn go_duration(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{}µs", d.as_micros())
    } else if d < Duration::from_secs(1) {
        format!("{:.6}", d.as_secs_f64() * 1000.0)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
            + "ms"
    } else {
        format!("{:.9}", d.as_secs_f64())
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
            + "s"
    }
}

async fn list(client: &Client, quiet: bool, filters: &[String]) -> Result<i32> {
    let images = client.images(None);
    let mut records = images.list_images(filters).await?;
    records.sort_by(|a, b| a.name.cmp(&b.name));
    if quiet {
        for image in &records {
            println!("{}", image.name);
        }
        return Ok(0);
    }
    let platform = myimages::Platform::host();
    let mut table = Table::new(1, 1);
    table.line("REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS\t");
    for image in &records {
        let target = image.target.clone().unwrap_or_default();
        // Like ctr, an image whose content is missing is still listed.
        let size = match images.resolve_record(image, &platform).await {
            Ok(r) => human_bytes(r.blobs().iter().map(|d| d.size.max(0) as u64).sum()),
            Err(e) => {
                tracing::debug!("size of {}: {e}", image.name);
                "-".into()
            }
        };
        let platforms = match images.image_platforms(image).await {
            Ok(p) => p
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
            Err(_) => "-".into(),
        };
        let labels: BTreeMap<&String, &String> = image.labels.iter().collect();
        let labels = if labels.is_empty() {
            "-".to_owned()
        } else {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        table.line(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t",
            image.name, target.media_type, target.digest, size, platforms, labels
        ));
    }
    print!("{}", table.render());
    Ok(0)
}

/// containerd's `progress.Bytes`: binary units, one decimal (`1008.5 KiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

async fn import(
    images: &myimages::Client,
    input: &Path,
    options: &myimages::ImportOptions,
) -> Result<i32> {
    // stdin is copied to a file first: an import reads the archive twice.
    let spooled;
    let path = if input == Path::new("-") {
        let mut file = tempfile::NamedTempFile::new().map_err(|source| Error::File {
            what: "spooling stdin",
            path: std::env::temp_dir(),
            source,
        })?;
        std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(|source| Error::File {
            what: "reading stdin into",
            path: file.path().to_owned(),
            source,
        })?;
        spooled = file;
        spooled.path().to_owned()
    } else {
        input.to_owned()
    };
    let imported = images.import(&path, options, &|_| {}).await?;
    for image in &imported {
        let digest = image
            .target
            .as_ref()
            .map(|t| t.digest.as_str())
            .unwrap_or("");
        if options.unpack {
            println!("unpacking {} ({digest})...done", image.name);
        } else {
            println!("{} ({digest})", image.name);
        }
    }
    Ok(0)
}

async fn export(
    client: &Client,
    output: &Path,
    names: &[String],
    options: &myimages::ExportOptions,
) -> Result<i32> {
    let images = client.images(None);
    // Names are looked up as ctr does, then normalised.
    let mut resolved = Vec::new();
    for name in names {
        resolved.push(images::find(&images, name).await?.name);
    }
    if output == Path::new("-") {
        let mut out = tokio::io::stdout();
        images.export(&resolved, &mut out, options).await?;
        return Ok(0);
    }
    // Written beside the destination, renamed when complete.
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(|source| Error::File {
        what: "creating",
        path: output.to_owned(),
        source,
    })?;
    let file = temp.reopen().map_err(|source| Error::File {
        what: "creating",
        path: output.to_owned(),
        source,
    })?;
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(file));
    images.export(&resolved, &mut out, options).await?;
    drop(out);
    // As os.Create makes it (a temporary file is private).
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644));
    temp.persist(output).map_err(|e| Error::File {
        what: "writing",
        path: output.to_owned(),
        source: e.error,
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_print_like_ctr() {
        assert_eq!(human_bytes(1032684), "1008.5 KiB");
        assert_eq!(human_bytes(395), "395.0 B");
        assert_eq!(human_bytes(2060288), "2.0 MiB");
        assert_eq!(go_duration(Duration::from_micros(85_200)), "85.2ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    }
}
