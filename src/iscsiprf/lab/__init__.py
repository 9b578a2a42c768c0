"""The two-namespace strongSwan lab: real IKEv1/IKEv2 daemons for the demo and the integration tests."""
