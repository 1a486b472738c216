// Stage 2 of the vGPU plan: the fwctl-style control channel (see ROADMAP.md).
