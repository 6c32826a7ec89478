"""HexResource's coord_url (issue 17): the run's Hex calls go through a real PostgreSQL
coordination store (tests/support/pgserver.py, a throwaway server), whose journal then
records the op's run under its idempotency key."""
import pytest
from dagster import job

import defs
from hexrun.dagster import HexResource, build_hex_run_op
from pgserver import PgServer


@pytest.fixture(scope="module")
def pg():
    with PgServer() as server:
        yield server


def test_the_resource_takes_coord_url_and_the_run_is_journaled_in_the_store(sim, pg):
    resource = defs.hex_resource(coord_url=pg.url, journal_path=None)
    assert resource.client_config()["coord_url"] == pg.url
    refresh = build_hex_run_op("refresh_coordinated", project_id=defs.P_OK)

    @job(resource_defs={"hex": resource})
    def coordinated_job():
        refresh()

    result = coordinated_job.execute_in_process()
    out = result.output_for_node("refresh_coordinated")
    assert out["status"] == "COMPLETED"
    journaled = pg.psql("SELECT state || ' ' || run_id FROM hexrun.journal")
    assert journaled == f"R {out['run_id']}", journaled


def test_coord_url_with_journal_path_is_refused_clearly(sim, pg, tmp_path):
    resource = HexResource(base_url=sim.base_url, api_token="hxtok_admin", coord_url=pg.url,
                           journal_path=str(tmp_path / "journal"))
    with pytest.raises(Exception) as err:
        resource.get_client()
    assert "coord_url" in str(err.value) and "journal_path" in str(err.value), err.value
