"""Reusable layers: hand-written recurrent cells, a GCN layer and graph readouts."""

from sgtk.nn._torch_names import upgrade_state_dict
from sgtk.nn.gcn import GCNLayer, gcn_norm
from sgtk.nn.gru import GRU
from sgtk.nn.readout import positional_encoding, readout
from sgtk.nn.rnn import LSTM, VanillaRNN

__all__ = [
    "GCNLayer",
    "GRU",
    "LSTM",
    "VanillaRNN",
    "gcn_norm",
    "positional_encoding",
    "readout",
    "upgrade_state_dict",
]
