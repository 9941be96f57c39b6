//! `run`: create a container from flags, then its task, as ctr does; with `--rm` the
//! container goes too when the task is done.

use crate::cli::RunArgs;
use crate::client::Client;
use crate::container::{self, NewContainer};
use crate::error::{Error, Result};
use crate::task::{self, StartOptions};

pub async fn run(client: &Client, args: Box<RunArgs>) -> Result<i32> {
    if args.rm && args.detach {
        return Err(Error::Usage(
            "flags --detach and --rm cannot be specified together",
        ));
    }
    let new = NewContainer {
        flags: &args.container,
        runtime: &args.runtime_options,
        args: &args.args,
        cgroup: args.cgroup.as_deref(),
        cpus: args.cpus,
        cpu_shares: Some(args.cpu_shares),
    };
    // Check what can be checked before the daemon creates anything.
    new.id()?;
    if args.container.tty && !args.detach && !stdio_is_a_terminal() {
        return Err(Error::NotATerminal);
    }
    let created = container::create(client, &new).await?;
    let options = StartOptions {
        stdio: &args.stdio,
        detach: args.detach,
        pid_file: args.container.pid_file.as_deref(),
        no_pivot: args.container.no_pivot,
        rootfs: created.image_mounts,
    };
    let created = created.container;
    let result = task::start(client, &created, options).await;
    if args.rm {
        let removed = container::delete(client, &created, false).await;
        match (&result, removed) {
            (Ok(_), Err(e)) => return Err(e),
            (Err(_), Err(e)) => tracing::warn!("removing container {:?}: {e}", created.id),
            _ => {}
        }
    }
    result.map(|status| status as i32)
}

fn stdio_is_a_terminal() -> bool {
    [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO]
        .into_iter()
        // SAFETY: isatty only inspects the descriptor.
        .any(|fd| unsafe { libc::isatty(fd) } == 1)
}
