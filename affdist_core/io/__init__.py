"""Reading and writing the files a user brings: FASTA, bigWig, BAM (5′-end strand counts), peaks, genomes, in-vitro
libraries, motif files; chromosome names checked across them."""
