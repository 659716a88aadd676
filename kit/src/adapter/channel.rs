//! The control connection: the runner starts a check target with one end of a socket pair as
//! its standard input. The adapter takes that socket for itself and puts `/dev/null` in its
//! place, so that learner code never reads the judge's requests, and no port or token ever
//! shows on a command line.

#[cfg(unix)]
pub(super) use self::unix::{Control, into_async, take};

#[cfg(not(unix))]
pub(super) use self::elsewhere::{Control, into_async, take};

#[cfg(unix)]
mod unix {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    pub(in crate::adapter) type Control = UnixStream;

    /// The control socket, from standard input; `Err` says why there is none.
    pub(in crate::adapter) fn take() -> Result<Control, String> {
        let stdin = std::io::stdin();
        let is_socket = rustix::fs::fstat(stdin.as_fd())
            .is_ok_and(|stat| rustix::fs::FileType::from_raw_mode(stat.st_mode).is_socket());
        if !is_socket {
            return Err("standard input is not the runner's control connection".into());
        }
        let control = stdin
            .as_fd()
            .try_clone_to_owned()
            .map_err(|error| format!("cannot take the control connection: {error}"))?;
        let null = std::fs::File::open("/dev/null")
            .map_err(|error| format!("cannot open /dev/null: {error}"))?;
        rustix::stdio::dup2_stdin(&null)
            .map_err(|error| format!("cannot put /dev/null on standard input: {error}"))?;
        Ok(UnixStream::from(control))
    }

    pub(in crate::adapter) fn into_async(
        control: Control,
    ) -> std::io::Result<tokio::net::UnixStream> {
        control.set_nonblocking(true)?;
        tokio::net::UnixStream::from_std(control)
    }
}

#[cfg(not(unix))]
mod elsewhere {
    pub(in crate::adapter) type Control = std::convert::Infallible;

    pub(in crate::adapter) fn take() -> Result<Control, String> {
        Err("httplings checks run on Linux and macOS (on Windows, inside WSL)".into())
    }

    pub(in crate::adapter) fn into_async(
        control: Control,
    ) -> std::io::Result<tokio::io::DuplexStream> {
        match control {}
    }
}
