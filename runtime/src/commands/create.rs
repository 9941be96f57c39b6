//! `myrunc create`

use std::path::{Path, PathBuf};

use crate::container::create::{CreateOptions, create};
use crate::error::Result;

#[derive(Debug, Clone, clap::Args)]
pub struct CreateFlags {
    /// Path to the bundle (directory with config.json); default: current directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// AF_UNIX socket that receives the pty master when process.terminal is set
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the container's init pid to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root (for a rootfs on a ramdisk)
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Accepted for compatibility (myrunc never creates a session keyring)
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra file descriptors (3 .. 3+N-1) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub flags: CreateFlags,
    /// Accepted for compatibility: create always detaches
    #[arg(short, long)]
    pub detach: bool,
    pub id: String,
}

impl CreateFlags {
    pub fn options(&self, id: &str, receive_console: bool) -> CreateOptions {
        CreateOptions {
            id: id.to_string(),
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            no_pivot: self.no_pivot,
            preserve_fds: self.preserve_fds.max(0),
            receive_console,
        }
    }
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    crate::process::exe_guard::ensure()?;
    create(root, &a.flags.options(&a.id, false))?;
    Ok(0)
}
