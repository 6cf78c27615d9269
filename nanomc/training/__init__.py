"""Building potentials: reference structures, descriptors of a training set, optimisers, training."""
