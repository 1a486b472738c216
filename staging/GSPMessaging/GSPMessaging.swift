// Stage 1 of the vGPU plan: GSP-RM messaging (see ROADMAP.md).
