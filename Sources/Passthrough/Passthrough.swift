// Whole-device passthrough and VF enablement (see ROADMAP.md).
