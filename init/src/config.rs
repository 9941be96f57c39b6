//! tini's command line and environment variables, parsed into an [`InitConfig`].
//!
//! Flags follow tini's getopt string `p:hvwgle:s`: short options, combinable (`-sg`,
//! `-e3`), an option argument either attached or in the next word, `--` ends the
//! options. One deliberate difference: tini (through glibc's getopt) also takes flags
//! found *after* the program name, so `tini ls -l` prints tini's license; myinit stops
//! at the first word that is not an option, like POSIX getopt, and runs `ls -l`.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};
use crate::log::DEFAULT_VERBOSITY;
use crate::signals;

const SUBREAPER_ENV: &str = "TINI_SUBREAPER";
const KILL_PROCESS_GROUP_ENV: &str = "TINI_KILL_PROCESS_GROUP";
const VERBOSITY_ENV: &str = "TINI_VERBOSITY";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Supervise a program.
    Run(InitConfig),
    /// `-h`: usage on stdout, exit 0.
    Help,
    /// `--version` as the only argument.
    Version,
    /// `-l`: license on stdout, exit 0.
    License,
}

/// Everything `run` needs to supervise the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitConfig {
    /// The program and its arguments, ready for execvp.
    pub(crate) program: Vec<CString>,
    /// `-s` / `TINI_SUBREAPER`: adopt orphans even when not PID 1.
    pub(crate) subreaper: bool,
    /// `-p SIGNAL`: signal to receive when our parent dies.
    pub(crate) parent_death_signal: Option<libc::c_int>,
    /// `-g` / `TINI_KILL_PROCESS_GROUP`: forward to the child's whole process group.
    pub(crate) kill_process_group: bool,
    /// `-e CODE` (repeatable): child exit codes reported as 0.
    pub(crate) remapped: ExitCodeSet,
    /// `-v` (repeatable) or `TINI_VERBOSITY`.
    pub(crate) verbosity: u32,
    /// `-w`: warn about every zombie reaped that is not the main child.
    pub(crate) warn_on_reap: bool,
}

/// A set of exit codes 0..=255.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ExitCodeSet([u64; 4]);

impl ExitCodeSet {
    pub(crate) fn insert(&mut self, code: u8) {
        self.0[usize::from(code / 64)] |= 1 << (code % 64);
    }

    pub(crate) fn contains(&self, code: u8) -> bool {
        self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

/// Parses `args` (with `args[0]` the name we were called by) and the `TINI_*`
/// variables that `env` returns.
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Result<Command> {
    // tini honours --version only when it is the sole argument.
    if args.len() == 2 && args[1] == "--version" {
        return Ok(Command::Version);
    }

    let mut config = InitConfig {
        program: Vec::new(),
        subreaper: false,
        parent_death_signal: None,
        kill_process_group: false,
        remapped: ExitCodeSet::default(),
        verbosity: DEFAULT_VERBOSITY,
        warn_on_reap: false,
    };

    let mut index = 1;
    while index < args.len() {
        let word = args[index].as_bytes();
        index += 1;
        if word == b"--" {
            break;
        }
        if word.len() < 2 || word[0] != b'-' {
            // The program name: options end here.
            index -= 1;
            break;
        }
        let mut pos = 1;
        while pos < word.len() {
            let flag = char::from(word[pos]);
            pos += 1;
            match flag {
                'h' => return Ok(Command::Help),
                'l' => return Ok(Command::License),
                's' => config.subreaper = true,
                'v' => config.verbosity += 1,
                'w' => config.warn_on_reap = true,
                'g' => config.kill_process_group = true,
                'p' | 'e' => {
                    // The value is the rest of this word, or else the whole next word.
                    let value: &[u8] = if pos < word.len() {
                        let rest = &word[pos..];
                        pos = word.len();
                        rest
                    } else if index < args.len() {
                        index += 1;
                        args[index - 1].as_bytes()
                    } else {
                        return Err(Error::MissingArgument(flag));
                    };
                    let value = String::from_utf8_lossy(value);
                    if flag == 'p' {
                        let signal = signals::by_name(&value)
                            .ok_or_else(|| Error::InvalidSignal(value.to_string()))?;
                        config.parent_death_signal = Some(signal);
                    } else {
                        config.remapped.insert(parse_exit_code(&value)?);
                    }
                }
                // Report the byte as getopt does, even when it is part of a UTF-8 sequence.
                _ => return Err(Error::UnknownOption(flag)),
            }
        }
    }

    if index >= args.len() {
        return Err(Error::NoProgram);
    }
    config.program = args[index..]
        .iter()
        .map(|arg| to_cstring(arg))
        .collect::<Result<_>>()?;

    // Like tini, the environment is read after the flags, so TINI_VERBOSITY
    // replaces whatever -v said.
    if env(SUBREAPER_ENV).is_some() {
        config.subreaper = true;
    }
    if env(KILL_PROCESS_GROUP_ENV).is_some() {
        config.kill_process_group = true;
    }
    if let Some(level) = env(VERBOSITY_ENV) {
        config.verbosity = parse_verbosity(&level);
    }

    Ok(Command::Run(config))
}

/// `-e` takes a decimal 0..=255, nothing else (tini uses strtol and checks the range).
fn parse_exit_code(value: &str) -> Result<u8> {
    let invalid = || Error::InvalidExitCode(value.to_string());
    // strtol accepts leading blanks and a sign; a u8 parse alone would refuse " 3" and "+3".
    let number: i64 = value.trim_start().parse().map_err(|_| invalid())?;
    u8::try_from(number).map_err(|_| invalid())
}

/// tini reads `TINI_VERBOSITY` with atoi: leading digits count, anything else is 0.
/// A negative value (which tini turns into a huge unsigned level) is taken as 0.
fn parse_verbosity(value: &OsStr) -> u32 {
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim_start();
    let digits_end = text
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(text.len());
    text[..digits_end].parse().unwrap_or(0)
}

fn to_cstring(arg: &OsStr) -> Result<CString> {
    CString::new(arg.as_bytes())
        .map_err(|_| Error::NulInArgument(arg.to_string_lossy().into_owned()))
}

/// The usage text, as `-h` prints it on stdout and a usage error on stderr.
pub fn usage(name: &str) -> String {
    let name = name.rsplit('/').next().unwrap_or(name);
    format!(
        "{name} ({version})
Usage: {name} [OPTIONS] [--] PROGRAM [ARGS] | --version

Execute a program under the supervision of a valid init process ({name})

Command line options:

  --version: Show version and exit.
  -h: Show this help message and exit.
  -s: Register as a process subreaper (requires Linux >= 3.4).
  -p SIGNAL: Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".
  -v: Generate more verbose output. Repeat up to 3 times.
  -w: Print a warning when processes are getting reaped.
  -g: Send signals to the child's process group.
  -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0 (can be repeated).
  -l: Show license and exit.

Environment variables:

  {SUBREAPER_ENV}: Register as a process subreaper (requires Linux >= 3.4).
  {VERBOSITY_ENV}: Set the verbosity level (default: {DEFAULT_VERBOSITY}).
  {KILL_PROCESS_GROUP_ENV}: Send signals to the child's process group.
",
        version = version()
    )
}

/// What `--version` prints.
pub fn version() -> String {
    format!("myinit version {}", env!("CARGO_PKG_VERSION"))
}

/// What `-l` prints.
pub fn license() -> &'static str {
    "myinit is part of this container platform and is licensed under the Apache License,
Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). It accepts the flags of tini
(https://github.com/krallin/tini) but contains none of its code.
"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        std::iter::once("myinit")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn run_config(words: &[&str]) -> InitConfig {
        match parse(&args(words), no_env) {
            Ok(Command::Run(config)) => config,
            other => panic!("{words:?} parsed to {other:?}"),
        }
    }

    fn program(config: &InitConfig) -> Vec<&str> {
        config
            .program
            .iter()
            .map(|arg| arg.to_str().unwrap())
            .collect()
    }

    #[test]
    fn plain_program_uses_defaults() {
        let config = run_config(&["sh", "-c", "exit 3"]);
        assert_eq!(program(&config), ["sh", "-c", "exit 3"]);
        assert!(!config.subreaper && !config.kill_process_group && !config.warn_on_reap);
        assert_eq!(config.parent_death_signal, None);
        assert_eq!(config.verbosity, DEFAULT_VERBOSITY);
        assert_eq!(config.remapped, ExitCodeSet::default());
    }

    #[test]
    fn double_dash_ends_options() {
        let config = run_config(&["-s", "--", "-v", "--", "x"]);
        assert!(config.subreaper);
        assert_eq!(config.verbosity, DEFAULT_VERBOSITY);
        assert_eq!(program(&config), ["-v", "--", "x"]);
    }

    #[test]
    fn combined_short_flags() {
        let config = run_config(&["-sgwvv", "--", "true"]);
        assert!(config.subreaper && config.kill_process_group && config.warn_on_reap);
        assert_eq!(config.verbosity, DEFAULT_VERBOSITY + 2);
    }

    #[test]
    fn option_value_attached_or_separate() {
        let config = run_config(&["-e3", "-e", "143", "-sp", "SIGKILL", "--", "true"]);
        assert!(config.remapped.contains(3));
        assert!(config.remapped.contains(143));
        assert!(!config.remapped.contains(0));
        assert!(config.subreaper);
        assert_eq!(config.parent_death_signal, Some(libc::SIGKILL));
        let config = run_config(&["-pSIGTERM", "true"]);
        assert_eq!(config.parent_death_signal, Some(libc::SIGTERM));
    }

    #[test]
    fn option_value_may_look_like_a_flag() {
        // getopt takes the next word as the value whatever it looks like, even "--".
        let err = parse(&args(&["-e", "--", "true"]), no_env).unwrap_err();
        assert!(
            matches!(err, Error::InvalidExitCode(ref v) if v == "--"),
            "{err:?}"
        );
    }

    #[test]
    fn options_stop_at_program_name() {
        // Deliberate difference from tini, whose glibc getopt permutes argv.
        let config = run_config(&["ls", "-l", "-s"]);
        assert!(!config.subreaper);
        assert_eq!(program(&config), ["ls", "-l", "-s"]);
    }

    #[test]
    fn single_dash_is_a_program_name() {
        assert_eq!(program(&run_config(&["-", "x"])), ["-", "x"]);
    }

    #[test]
    fn help_license_version() {
        assert_eq!(parse(&args(&["-h"]), no_env).unwrap(), Command::Help);
        assert_eq!(parse(&args(&["-sh", "x"]), no_env).unwrap(), Command::Help);
        assert_eq!(
            parse(&args(&["-l", "x"]), no_env).unwrap(),
            Command::License
        );
        assert_eq!(
            parse(&args(&["--version"]), no_env).unwrap(),
            Command::Version
        );
    }

    #[test]
    fn version_only_when_alone() {
        // tini's getopt then sees "--version" as the flags '-', 'v', ... and rejects '-'.
        let err = parse(&args(&["--version", "x"]), no_env).unwrap_err();
        assert!(matches!(err, Error::UnknownOption('-')), "{err:?}");
    }

    #[test]
    fn first_error_wins_in_order() {
        let err = parse(&args(&["-x", "-h"]), no_env).unwrap_err();
        assert!(matches!(err, Error::UnknownOption('x')), "{err:?}");
        assert!(err.wants_usage());
    }

    #[test]
    fn missing_option_argument() {
        let err = parse(&args(&["-s", "-e"]), no_env).unwrap_err();
        assert!(matches!(err, Error::MissingArgument('e')), "{err:?}");
        assert!(err.wants_usage());
    }

    #[test]
    fn no_program_is_a_usage_error() {
        for words in [&[][..], &["-s"], &["-s", "--"]] {
            let err = parse(&args(words), no_env).unwrap_err();
            assert!(matches!(err, Error::NoProgram), "{words:?}: {err:?}");
            assert!(err.wants_usage());
        }
    }

    #[test]
    fn exit_code_range() {
        assert_eq!(parse_exit_code("0").unwrap(), 0);
        assert_eq!(parse_exit_code("255").unwrap(), 255);
        assert_eq!(parse_exit_code("+7").unwrap(), 7);
        assert_eq!(parse_exit_code(" 7").unwrap(), 7);
        for bad in ["256", "-1", "", "3x", "0x10", "7 "] {
            let err = parse_exit_code(bad).unwrap_err();
            assert!(!err.wants_usage());
            assert_eq!(err.to_string(), format!("Not a valid option for -e: {bad}"));
        }
    }

    #[test]
    fn parent_death_signal_names_are_tinis() {
        assert_eq!(
            run_config(&["-p", "SIGUSR1", "x"]).parent_death_signal,
            Some(libc::SIGUSR1)
        );
        for bad in ["KILL", "sigkill", "9", "SIGRTMIN"] {
            let err = parse(&args(&["-p", bad, "x"]), no_env).unwrap_err();
            assert!(
                matches!(err, Error::InvalidSignal(ref v) if v == bad),
                "{err:?}"
            );
            assert!(!err.wants_usage());
        }
    }

    #[test]
    fn environment_variables() {
        let env = |name: &str| match name {
            "TINI_SUBREAPER" => Some(OsString::new()),
            "TINI_KILL_PROCESS_GROUP" => Some(OsString::from("1")),
            "TINI_VERBOSITY" => Some(OsString::from("3")),
            _ => None,
        };
        let Command::Run(config) = parse(&args(&["-vvvv", "true"]), env).unwrap() else {
            panic!("expected Run");
        };
        assert!(
            config.subreaper,
            "set even when empty, as tini checks only presence"
        );
        assert!(config.kill_process_group);
        assert_eq!(config.verbosity, 3, "TINI_VERBOSITY replaces -v");
    }

    #[test]
    fn verbosity_parses_like_atoi() {
        let level = |s: &str| parse_verbosity(OsStr::new(s));
        assert_eq!(level("2"), 2);
        assert_eq!(level(" 4x"), 4);
        assert_eq!(level("x"), 0);
        assert_eq!(level(""), 0);
        assert_eq!(level("-3"), 0);
    }

    #[test]
    fn exit_code_set() {
        let mut set = ExitCodeSet::default();
        for code in [0, 63, 64, 127, 128, 255] {
            assert!(!set.contains(code));
            set.insert(code);
            assert!(set.contains(code));
        }
        assert!(!set.contains(1) && !set.contains(254));
    }

    #[test]
    fn usage_uses_basename() {
        let text = usage("/sbin/docker-init");
        assert!(text.starts_with("docker-init (myinit version "), "{text}");
        assert!(text.contains("-e EXIT_CODE"));
    }
}
