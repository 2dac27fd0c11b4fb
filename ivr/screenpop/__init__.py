"""Screen-pops: what the IVR collected, pushed to the CSO whose phone rings."""
