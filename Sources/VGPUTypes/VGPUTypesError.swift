import HostKit

/// VGPUTypes' error codes (``VGPUTypesError``): the vGPU profile catalogs as the commands use
/// them. A malformed catalog file itself is a ``VGPUCatalogError`` (file:line:column), kept
/// underneath.
public enum VGPUTypesCode: String, ErrorCode {
    public static var module: String { "vgputypes" }
    /// A built-in catalog does not parse (a packaging fault).
    case builtInCatalog
    /// A profile file under `etc/vgpuctl/profiles` is malformed.
    case profileFile
    /// No catalog covers the GPU's device id.
    case noCatalog
    /// The GPU's catalog has no type of that name (or it is another GPU model's type).
    case unknownType
}

/// VGPUTypes' error: a ``VGPUTypesCode``, the operator's sentence, the exit status and the
/// catalog error underneath.
public typealias VGPUTypesError = ModuleError<VGPUTypesCode>
