"""The simulator that stands in for nature: energies, accessibility, ChIP-nexus reads, peak calling."""
