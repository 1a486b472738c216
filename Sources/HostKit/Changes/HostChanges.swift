import Glibc

/// vgpuctl's own change notices: a file every command that changes the host rewrites
/// (`run/vgpuctl/changed`, under the root) when it starts and when it ends, so that a
/// long-running watcher (the Kubernetes device plugin) learns of changes without polling.
///
/// On a real host the kernel's uevents tell of every change to devices and drivers; this file
/// adds what uevents do not carry (a vGPU type written to `current_vgpu_type`, an apply starting,
/// which makes its GPUs unhealthy while it runs). On a simulated host no uevents come from the
/// kernel: the simulated kernel rewrites the same file after every write it applies, so a
/// watcher sees the simulated kernel's changes, whoever made them, through the same channel.
///
/// Watchers use ``InotifyWatch`` on ``directory`` (`IN_CLOSE_WRITE` of ``file``).
public enum HostChanges {
    /// The directory watched, relative to the root.
    public static let directory = HostRoot.runDir
    /// The notice file's name.
    public static let file = "changed"

    /// Rewrites the notice file (its content is the writer's pid and a reason, for humans).
    /// Best effort: a host where `run/vgpuctl` cannot be created is not refused for it.
    public static func notify(_ root: HostRoot, reason: String) {
        let dir = root.url(directory)
        mkdir(root.url("run"), 0o755)
        mkdir(dir, 0o755)
        let fd = retryingOnEINTR { open(dir + "/" + file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { return }
        let line = Array("\(getpid()) \(reason)\n".utf8)
        _ = line.withUnsafeBytes { b in retryingOnEINTR { Glibc.write(fd, b.baseAddress, b.count) } }
        close(fd)
    }
}
