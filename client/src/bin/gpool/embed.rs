//! `gpool embed`: texts in, one JSON vector a line out, in input order, through the
//! client's fallback cascade; what served how many texts on standard error.

use std::io::{BufRead, BufWriter, IsTerminal, Write};

use gpool_client::{Client, Config, EmbedOptions, Error, Stats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::EmbedArgs;
use crate::connection::Target;
use crate::failure::{one_line, Failure};

pub fn run(target: &Target, args: EmbedArgs) -> Result<(), Failure> {
    let texts = if args.texts.is_empty() {
        read_lines()?
    } else {
        args.texts.clone()
    };
    let batch_size = args.batch_size as usize;
    let options = EmbedOptions {
        model: args.model.clone(),
        task_type: args.task_type.clone(),
        dimensions: args.dimensions as usize,
    };

    let mut config = Config::from_env().map_err(|e| Failure::usage(e.to_string()))?;
    config.redis_url = target.url().to_string();
    config.pool = target.pool.clone();
    config.paid_pool = format!("{}-paid", target.pool);
    config.chunk_size = batch_size;
    let client = Client::new(config).map_err(|e| target.fail(e))?;

    let groups = batches(&texts, batch_size);
    let progress = progress_bar(texts.len(), groups.len(), args.quiet);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut written = 0;
    for group in &groups {
        let vectors = client.embed(group, &options).map_err(|e| {
            progress.finish_and_clear();
            stopped(target, e, written, texts.len())
        })?;
        for vector in &vectors {
            serde_json::to_writer(&mut out, vector).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        // Each batch's vectors leave at once, so a long run can be read as it goes.
        out.flush()?;
        written += group.len();
        progress.inc(group.len() as u64);
    }
    progress.finish_and_clear();
    client.flush().map_err(|e| target.fail(e))?;

    if !args.quiet {
        eprintln!("{}", summary(&texts, &client.stats()));
    }
    Ok(())
}

/// Standard input, one text a line (a final `\r` dropped).
fn read_lines() -> Result<Vec<String>, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::usage(
            "no texts given: pass them as arguments, or pipe them in one a line \
             (gpool embed < texts.txt)",
        ));
    }
    let mut texts = Vec::new();
    for (i, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| {
            Failure::usage(format!(
                "line {} of standard input cannot be read ({e}): give UTF-8 text, one text a \
                 line",
                i + 1
            ))
        })?;
        texts.push(line.strip_suffix('\r').unwrap_or(&line).to_string());
    }
    Ok(texts)
}

/// The texts cut into runs of at most `size` texts to send; empty texts, never sent, ride
/// along with the run they fall in.
fn batches(texts: &[String], size: usize) -> Vec<&[String]> {
    let mut groups = Vec::new();
    let (mut start, mut sent) = (0, 0);
    for (i, text) in texts.iter().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        if sent == size {
            groups.push(&texts[start..i]);
            (start, sent) = (i, 0);
        }
        sent += 1;
    }
    if start < texts.len() {
        groups.push(&texts[start..]);
    }
    groups
}

/// A bar on standard error when it is a terminal and there is more than one batch; else
/// a hidden one.
fn progress_bar(texts: usize, batches: usize, quiet: bool) -> ProgressBar {
    if quiet || batches < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(texts as u64), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{bar:40} {pos}/{len} texts  {elapsed_precise}  eta {eta}")
            .expect("a valid progress template");
    bar.set_style(style);
    bar
}

/// The failure of a batch, saying how far the run got.
fn stopped(target: &Target, e: Error, written: usize, total: usize) -> Failure {
    let done = if written > 0 {
        format!(" after {written} of {total} texts (their vectors are on standard output)")
    } else {
        String::new()
    };
    match e {
        Error::Embed(failures) => Failure::failed(format!(
            "embedding stopped{done}: every stage failed: {}: see 'gpool status', or run \
             'gpool probe' to check the keys",
            one_line(&failures.to_string())
        )),
        other => {
            let failure = target.fail(other);
            if done.is_empty() {
                failure
            } else {
                Failure::failed(format!("embedding stopped{done}: {failure}"))
            }
        }
    }
}

/// Which stage served how many texts, and the empty ones.
fn summary(texts: &[String], stats: &Stats) -> String {
    let empty = texts.iter().filter(|t| t.trim().is_empty()).count();
    let sent = texts.len() - empty;
    format!(
        "embedded {} {}: free pool {}, openrouter {}, paid key {}; {empty} empty (zero \
         vectors, not sent)",
        sent,
        if sent == 1 { "text" } else { "texts" },
        stats.embedded_by_free_pool,
        stats.embedded_by_openrouter,
        stats.embedded_by_paid_key,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn batches_hold_at_most_size_texts_to_send_and_carry_the_empty_ones() {
        let texts = owned(&["a", "", "b", "c", " ", "d", ""]);
        assert_eq!(batches(&texts, 2), vec![&texts[0..3], &texts[3..7]]);
        assert_eq!(
            batches(&texts, 1),
            vec![&texts[0..2], &texts[2..3], &texts[3..5], &texts[5..7]]
        );
        assert_eq!(batches(&owned(&["", ""]), 2), vec![&owned(&["", ""])[..]]);
        assert!(batches(&[], 2).is_empty());
    }
}
