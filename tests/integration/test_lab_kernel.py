"""The kernel XFRM backend, where the kernel lacks ESP: CHILD_SA installation fails."""

from __future__ import annotations

import pytest
from counter_watch import Counted

from iscsiprf.lab import scenarios
from iscsiprf.lab.observe import ENFY_NAMES

pytestmark = pytest.mark.lab

ALERT = {name: number for number, name in ENFY_NAMES.items()}
INSTALL_FAILED = "unable to install inbound and outbound IPsec SA (SAD) in kernel"
# The side that installs first: one SPI allocated, both directions failed, no SA.
FAILED_INSTALL = {"TotalGetSPI": 1, "KeyAdditionFailures": 1, "KeyUpdateFailures": 1}


@pytest.fixture
def no_kernel_esp() -> None:
    has_esp = scenarios.kernel_has_esp()
    if has_esp is None:
        pytest.skip("no /proc/config.gz: cannot tell whether this kernel can install ESP SAs")
    if has_esp:
        pytest.skip("this kernel has ESP, so SA installation cannot be made to fail here")


def test_ikev1_quick_mode_install_failure(counted: Counted, no_kernel_esp: None) -> None:
    out = scenarios.kernel_backend_install_failure(counted.session, 1)
    assert out.initiate is not None and not out.initiate.ok
    # In quick mode the initiator installs first (after message 2) and tells B it failed.
    assert any(INSTALL_FAILED in line for line in out.logs("A"))
    for node in "AB":
        assert out.updowns(node) == [(True, "v1", "ESTABLISHED")]
        assert out.updowns(node, "child-updown") == []
    expected = {
        "A": {"MM": {"OakleyMainMode": 1, "NegotiationFailures": 1, **FAILED_INSTALL}},
        "B": {"MM": {"OakleyMainMode": 1, "NegotiationFailures": 1}},
    }
    assert counted.delta(expected) == expected


def test_ikev2_child_install_failure(counted: Counted, no_kernel_esp: None) -> None:
    out = scenarios.kernel_backend_install_failure(counted.session, 2)
    assert out.initiate is not None and not out.initiate.ok
    # In IKE_AUTH the responder installs first and answers NO_PROPOSAL_CHOSEN.
    assert any(INSTALL_FAILED in line for line in out.logs("B"))
    assert out.alerts("B") == [ALERT["INSTALL_CHILD_SA_FAILED"], ALERT["KEEP_ON_CHILD_SA_FAILURE"]]
    assert out.alerts("A") == [ALERT["PROPOSAL_MISMATCH_CHILD"], ALERT["KEEP_ON_CHILD_SA_FAILURE"]]
    expected = {
        "A": {"MM": {"NegotiationFailures": 1}},
        "B": {"MM": {"NegotiationFailures": 1, **FAILED_INSTALL}},
    }
    assert counted.delta(expected) == expected
