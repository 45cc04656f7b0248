"""One node numbering everywhere: 0 = c_{k-2}, 1 = c_{k-1}, intermediate nodes 2..n+1 (DARTS)."""

from toolkit.genotype import PUBLISHED, CellPair, CellSpec, Genotype, Network

V2 = PUBLISHED["DARTS_V2"]


def test_node_ids_follow_the_text_form():
    assert V2.normal.node_ids == (2, 3, 4, 5)
    assert Genotype(nodes=(), concat=(1,)).node_ids == ()
    # the ids are the numbers the text form uses for intermediate nodes
    assert {src for _, _, src in V2.normal.edges if src >= 2} <= set(V2.normal.node_ids)
    assert set(V2.normal.concat) == set(V2.normal.node_ids)


def test_network_printout_names_the_states_each_cell_reads():
    lines = str(V2.stack(5)).splitlines()
    assert lines[0].startswith("cell 1 normal, reads stem twice: sep_conv_3x3(0)")
    assert lines[1].startswith("cell 2 reduce, reads stem, cell 1: ")
    assert lines[2].startswith("cell 3 normal, reads cells 1, 2: ")
    assert "<-" not in str(V2.stack(5))


def test_an_emptied_cell_prints_readably():
    empty = Genotype(nodes=(), concat=(1,))
    network = Network((CellSpec(V2.normal, False, (0, 0)), CellSpec(empty, True, (0, 1))))
    assert str(network).splitlines()[1] == "cell 2 reduce, reads stem, cell 1: no intermediate nodes; outputs c_{k-1}"
    assert str(CellPair(V2.normal, V2.reduce).stack(3)).count("\n") == 2
