"""The TS-ENAS cell space: Table II's known cells, Table I's op codes, and adding searched cells."""

import json

import pytest

from toolkit.errors import ToolkitError
from toolkit.genotype import PUBLISHED, CellPair, Genotype
from toolkit.space import TS_ENAS_OPS
from toolkit.tsenas import CellSpace, table_ii

SPACE = table_ii()


def test_table_ii_codes_names_and_types():
    names = [c.name for c in SPACE.cells]
    assert names == ["AmoebaNC", "NASNetNC", "DartsNC", "CarsNC", "AmoebaRC", "NASNetRC", "DartsRC", "CarsRC"]
    assert SPACE.normal_codes == (1, 2, 3, 4) and SPACE.reduce_codes == (5, 6, 7, 8)
    for code, published in zip(range(1, 9), ["AmoebaNet_A", "NASNet_A", "DARTS_V2", "CARS_H"] * 2):
        cell = SPACE.cell(code)
        original = PUBLISHED[published].reduce if cell.reduction else PUBLISHED[published].normal
        assert cell.genotype.nodes == original.nodes  # the published cell, unchanged inside
        assert cell.genotype.output == "add" and cell.genotype.concat == original.loose_ends


def test_op_codes_follow_table_i_and_cover_every_known_cell():
    assert SPACE.ops[:13] == TS_ENAS_OPS
    assert [SPACE.op_name(k) for k in (1, 2, 3, 13)] == ["skip_connect", "conv_1x3_3x1", "conv_7x1_1x7", "sep_conv_7x7"]
    assert SPACE.ops[13:] == ("dil_conv_5x5",)  # CARS-H's normal cell uses it; Table I does not list it
    for cell in SPACE.cells:
        assert all(1 <= SPACE.op_code(op) <= len(SPACE.ops) for _, op, _ in cell.genotype.edges)


@pytest.mark.parametrize("code", [0, 9, -1, "3", 2.0])
def test_unknown_cell_codes_name_the_range(code):
    with pytest.raises(ToolkitError, match=r"codes 1\.\.8"):
        SPACE.cell(code)


def test_a_published_cell_pair_joins_the_space_with_the_next_codes():
    bigger = SPACE.with_cells("PC_DARTS")
    assert [c.name for c in bigger.cells[8:]] == ["PC_DARTS-normal", "PC_DARTS-reduce"]
    assert bigger.normal_codes == (1, 2, 3, 4, 9) and bigger.reduce_codes == (5, 6, 7, 8, 10)
    assert bigger.cell(10).genotype == PUBLISHED["PC_DARTS"].reduce.with_add_output()
    assert bigger.cells[:8] == SPACE.cells and bigger.ops == SPACE.ops  # existing codes keep their meaning


def test_a_searched_genotype_file_joins_the_space(tmp_path):
    pair = CellPair(Genotype.from_text("sep_conv_3x3(0)+dil_conv_5x5(1) | skip_connect(2)+max_pool_3x3(0) ; 2,3"),
                    Genotype.from_text("max_pool_3x3(0)+sep_conv_5x5(1) | none(2)+avg_pool_3x3(1) ; 2,3"))
    path = tmp_path / "genotype.json"
    path.write_text(json.dumps(pair.to_dict()))
    bigger = SPACE.with_cells(path)
    assert bigger.cell(9).name == "genotype-normal" and bigger.cell(9).source == str(path)
    assert bigger.cell(10).genotype.concat == (3,)  # node 3 is the reduction cell's only loose end
    assert bigger.ops == SPACE.ops + ("none",)  # a new op gets the next code


def test_space_round_trips_through_json():
    bigger = SPACE.with_cells("DARTS_V1", name="darts1")
    assert CellSpace.from_dict(json.loads(json.dumps(bigger.to_dict()))) == bigger


@pytest.mark.parametrize("source, message", [
    ("DARTS_V2", "already in the space as code 3"),
    ("NO_SUCH_CELL", "no published cell of that name"),
])
def test_bad_additions_name_the_problem(source, message):
    with pytest.raises(ToolkitError, match=message):
        SPACE.with_cells(source)


def test_a_network_file_cannot_join_the_space(tmp_path):
    path = tmp_path / "network.json"
    path.write_text(json.dumps(PUBLISHED["DARTS_V2"].stack(3).to_dict()))
    with pytest.raises(ToolkitError, match="whole network"):
        SPACE.with_cells(path)


def test_a_cell_not_in_the_space_has_no_code():
    with pytest.raises(ToolkitError, match="not one of the space's known cells"):
        SPACE.code_of(PUBLISHED["PC_DARTS"].normal.with_add_output(), False)
    with pytest.raises(ToolkitError, match="not one of the space's known cells"):
        SPACE.code_of(SPACE.cell(3).genotype, True)  # the DARTS normal cell is not a reduction cell
