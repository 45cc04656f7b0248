import json

import pytest

from toolkit.errors import ToolkitError
from toolkit.genotype import PUBLISHED, CellPair, CellSpec, Genotype, Network, load_architecture

V2 = PUBLISHED["DARTS_V2"]


def test_published_cells_match_reference_file():
    assert set(PUBLISHED) == {"DARTS_V1", "DARTS_V2", "NASNet_A", "AmoebaNet_A", "PC_DARTS", "CARS_H"}
    assert V2.normal.nodes[3] == (("skip_connect", 0), ("dil_conv_3x3", 2))
    assert V2.normal.concat == (2, 3, 4, 5)
    assert len(PUBLISHED["NASNet_A"].normal.nodes) == 5
    assert PUBLISHED["AmoebaNet_A"].reduce.concat == (3, 4, 6)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_text_and_json_round_trip_exactly(name):
    pair = PUBLISHED[name]
    for cell in (pair.normal, pair.reduce):
        assert Genotype.from_text(str(cell)) == cell
        assert Genotype.from_dict(json.loads(json.dumps(cell.to_dict()))) == cell
    assert CellPair.from_dict(json.loads(json.dumps(pair.to_dict()))) == pair
    net = pair.stack(8)
    assert Network.from_dict(json.loads(json.dumps(net.to_dict()))) == net


def test_genotypes_are_hashable_values():
    assert hash(V2.normal) == hash(Genotype.from_text(str(V2.normal)))
    assert len({V2, PUBLISHED["DARTS_V2"]}) == 1


def test_text_form_example():
    g = Genotype.from_text("sep_conv_3x3(0)+skip_connect(1) | max_pool_3x3(2)+sep_conv_5x5(0) ; 2,3")
    assert g.nodes == ((("sep_conv_3x3", 0), ("skip_connect", 1)), (("max_pool_3x3", 2), ("sep_conv_5x5", 0)))
    assert g.count("skip_connect") == 1
    assert g.edges[2] == (3, "max_pool_3x3", 2)


@pytest.mark.parametrize("text, message", [
    ("bogus_op(0)+skip_connect(1) ; 2", "unknown op 'bogus_op'"),
    ("sep_conv_3x3(0)+skip_connect(2) ; 2", "out of range"),
    ("sep_conv_3x3(0)+skip_connect(1) ; ", "empty concat"),
    ("sep_conv_3x3(0)+skip_connect(1) ; 5", "concat names node 5"),
    ("sep_conv_3x3(0)+skip_connect(1)", "needs '; concat'"),
    ("sep_conv_3x3[0] ; 2", "op(input)"),
])
def test_invalid_genotypes_name_the_problem(text, message):
    with pytest.raises(ToolkitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Genotype.from_text(text)


def test_invalid_genotype_is_a_value_error():
    with pytest.raises(ValueError):
        Genotype(((("sep_conv_3x3", 0),),), ())


def test_stack_uses_darts_wiring_and_default_reductions():
    net = V2.stack(20)
    assert net.reductions == (7, 14)  # DARTS: layers//3 and 2*layers//3, counted from 0
    assert net.cells[0].inputs == (0, 0) and net.cells[1].inputs == (0, 1) and net.cells[9].inputs == (8, 9)
    assert net.cells[6].genotype == V2.reduce and net.cells[5].genotype == V2.normal
    assert V2.stack(5, reductions=(2, 3)).reductions == (2, 3)


def test_network_allows_any_earlier_cell_and_rejects_later_ones():
    cell = V2.normal
    Network((CellSpec(cell, False, (0, 0)), CellSpec(cell, True, (0, 1)), CellSpec(cell, False, (0, 2))))
    with pytest.raises(ToolkitError, match="cell 2 reads state 2"):
        Network((CellSpec(cell, False, (0, 0)), CellSpec(cell, False, (0, 2))))
    with pytest.raises(ToolkitError, match="outside cells"):
        V2.stack(5, reductions=(6,))


def test_load_architecture_from_name_and_files(tmp_path):
    assert load_architecture("DARTS_V2") == V2
    f = tmp_path / "g.json"
    f.write_text(json.dumps(V2.to_dict()))
    assert load_architecture(f) == V2
    n = tmp_path / "n.json"
    n.write_text(json.dumps(V2.stack(4).to_dict()))
    assert load_architecture(n) == V2.stack(4)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ToolkitError, match="not valid JSON"):
        load_architecture(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"normal": {"nodes": [[["sep_conv_3x3", 9]]], "concat": [2]}, "reduce": {}}))
    with pytest.raises(ToolkitError, match="invalid genotype file"):
        load_architecture(wrong)
    with pytest.raises(ToolkitError, match="no genotype file"):
        load_architecture(tmp_path / "missing.json")


@pytest.mark.parametrize("bad", [{"cells": 3}, {"cells": [1]}, {"cells": [{"type": "normal", "inputs": "ab"}]},
                                 {"cells": [{"type": "normal", "inputs": [0, 0]}]}, None])
def test_bad_network_description_is_one_clear_error(bad):
    with pytest.raises(ToolkitError, match="network description|cell"):
        Network.from_dict(bad)
