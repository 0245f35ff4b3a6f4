"""Reading and writing the files a user brings: FASTA, bigWig, peaks, genomes, in-vitro libraries, motif files."""
