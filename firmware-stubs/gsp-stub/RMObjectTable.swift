import GSPMessaging

/// The RM objects the stub's GSP-RM holds: clients, devices, subdevices (and whatever later
/// stages allocate), by handle, with their parents. Enough to answer `GSP_RM_ALLOC`, `FREE`
/// and `GSP_RM_CONTROL` the way RM's resource server would check them.
struct RMObjectTable {
    struct Object {
        var handle: UInt32
        var hClass: UInt32
        var parent: UInt32
        var client: UInt32
    }

    /// GSP-RM's own client, device and subdevice (their handles go out in the static info).
    static let internalClient: UInt32 = 0xC1D0_0001
    static let internalDevice: UInt32 = 0xC1D0_0080
    static let internalSubdevice: UInt32 = 0xC1D0_2080

    /// Which parent classes each allocatable class may sit under. Later stages add their classes
    /// here (and their controls in ``StubDispatcher``).
    static let allowedParents: [UInt32: Set<UInt32>] = [
        RMClass.root: [], RMClass.rootClient: [],
        RMClass.device: [RMClass.root, RMClass.rootClient],
        RMClass.subdevice: [RMClass.device],
    ]

    private(set) var objects: [UInt32: Object] = [:]

    init() {
        for (h, c, p) in [
            (Self.internalClient, RMClass.root, Self.internalClient),
            (Self.internalDevice, RMClass.device, Self.internalClient),
            (Self.internalSubdevice, RMClass.subdevice, Self.internalDevice),
        ] {
            objects[h] = Object(handle: h, hClass: c, parent: p, client: Self.internalClient)
        }
    }

    var count: Int { objects.count }

    /// Allocates; returns the RM status.
    mutating func alloc(_ a: RMAlloc) -> UInt32 {
        guard let parents = Self.allowedParents[a.hClass] else { return NVStatus.errInvalidClass }
        guard objects[a.hObject] == nil else { return 0x19 }  // NV_ERR_INSERT_DUPLICATE_NAME
        if parents.isEmpty {
            // A client: its own handle, no parent (0) or itself.
            guard a.hClient == a.hObject, a.hParent == 0 || a.hParent == a.hObject else {
                return NVStatus.errInvalidObjectParent
            }
            objects[a.hObject] = Object(handle: a.hObject, hClass: a.hClass, parent: a.hObject, client: a.hObject)
            return NVStatus.ok
        }
        guard let client = objects[a.hClient], client.client == a.hClient, client.handle == client.parent else {
            return NVStatus.errInvalidClient
        }
        guard let parent = objects[a.hParent], parent.client == a.hClient, parents.contains(parent.hClass) else {
            return NVStatus.errInvalidObjectParent
        }
        objects[a.hObject] = Object(handle: a.hObject, hClass: a.hClass, parent: parent.handle, client: a.hClient)
        return NVStatus.ok
    }

    /// Frees an object and everything under it; returns the RM status.
    mutating func free(_ f: RMFree) -> UInt32 {
        guard let o = objects[f.hObjectOld], o.client == f.hRoot else { return NVStatus.errInvalidObjectHandle }
        guard o.handle != Self.internalClient, o.client != Self.internalClient else {
            return NVStatus.errInvalidObjectHandle
        }
        var doomed: Set<UInt32> = [o.handle]
        var grew = true
        while grew {
            grew = false
            for obj in objects.values where !doomed.contains(obj.handle) && doomed.contains(obj.parent) {
                doomed.insert(obj.handle)
                grew = true
            }
        }
        for h in doomed { objects[h] = nil }
        return NVStatus.ok
    }

    /// The object a control addresses, when `hClient` owns it.
    func object(_ h: UInt32, client: UInt32) -> Object? {
        guard let o = objects[h], o.client == client else { return nil }
        return o
    }
}
