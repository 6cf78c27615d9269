"""Potentials: descriptor parameter sets, networks, the Potential object and its file."""
from .descriptors import (AngularFunction, CutoffFunction, DescriptorSet, RadialFunction, aenet_type_spins,
                          chebyshev_descriptor_set, default_descriptor_set)
from .network import Layer, Network
from .potential import Potential

__all__ = [
    "AngularFunction",
    "CutoffFunction",
    "DescriptorSet",
    "Layer",
    "Network",
    "Potential",
    "RadialFunction",
    "aenet_type_spins",
    "chebyshev_descriptor_set",
    "default_descriptor_set",
]
