"""The DARTS cell search space: candidate ops, relaxation, cells and genotypes."""
