// SPDX-License-Identifier: MIT
// A test stand-in for the Orbs v2 PoS contracts: the read functions and
// events vcsync uses (Committee and GuardiansRegistration), plus setters.
pragma solidity ^0.8.0;

contract TestPoS {
    event CommitteeChange(address indexed addr, uint256 weight, bool certification, bool inCommittee);
    event CommitteeSnapshot(address[] addrs, uint256[] weights, bool[] certification);
    // GuardiansRegistration's events, with the deployed v2 contract's exact signatures.
    event GuardianRegistered(address indexed guardian);
    event GuardianUnregistered(address indexed guardian);
    event GuardianDataUpdated(address indexed guardian, bool isRegistered, bytes4 ip, address orbsAddr, string name, string website, uint256 registrationTime);

    address[] private members;
    mapping(address => uint256) private weightOf;
    mapping(address => bool) private certOf;
    mapping(address => address) private orbsOf;

    // Replaces the whole committee (emits CommitteeSnapshot).
    function setCommittee(address[] calldata addrs, uint256[] calldata weights, bool[] calldata certs) external {
        require(addrs.length == weights.length && addrs.length == certs.length, "length mismatch");
        for (uint i = 0; i < members.length; i++) {
            delete weightOf[members[i]];
        }
        delete members;
        for (uint i = 0; i < addrs.length; i++) {
            members.push(addrs[i]);
            weightOf[addrs[i]] = weights[i];
            certOf[addrs[i]] = certs[i];
        }
        emit CommitteeSnapshot(addrs, weights, certs);
    }

    // Adds, updates or removes one member (emits CommitteeChange).
    function changeMember(address addr, uint256 weight, bool cert, bool inCommittee) external {
        bool present = weightOf[addr] != 0;
        if (inCommittee) {
            if (!present) members.push(addr);
            weightOf[addr] = weight;
            certOf[addr] = cert;
        } else if (present) {
            delete weightOf[addr];
            for (uint i = 0; i < members.length; i++) {
                if (members[i] == addr) {
                    members[i] = members[members.length - 1];
                    members.pop();
                    break;
                }
            }
        }
        emit CommitteeChange(addr, weight, cert, inCommittee);
    }

    // Registers a guardian, or changes its node (Orbs) address: a key
    // rotation, which emits no committee event.
    function setOrbsAddress(address guardian, address orbs) external {
        if (orbsOf[guardian] == address(0)) emit GuardianRegistered(guardian);
        orbsOf[guardian] = orbs;
        emit GuardianDataUpdated(guardian, true, bytes4(0x7f000001), orbs, "guardian", "https://example.org", block.timestamp);
    }

    function unregisterGuardian(address guardian) external {
        delete orbsOf[guardian];
        emit GuardianUnregistered(guardian);
    }

    function getCommittee() external view returns (address[] memory addrs, uint256[] memory weights, bool[] memory certification) {
        addrs = members;
        weights = new uint256[](members.length);
        certification = new bool[](members.length);
        for (uint i = 0; i < members.length; i++) {
            weights[i] = weightOf[members[i]];
            certification[i] = certOf[members[i]];
        }
    }

    function getCommitteeStats() external view returns (uint generalCommitteeSize, uint certifiedCommitteeSize, uint totalWeight) {
        generalCommitteeSize = members.length;
        for (uint i = 0; i < members.length; i++) {
            if (certOf[members[i]]) certifiedCommitteeSize++;
            totalWeight += weightOf[members[i]];
        }
    }

    function getGuardiansOrbsAddress(address[] calldata guardianAddrs) external view returns (address[] memory orbsAddrs) {
        orbsAddrs = new address[](guardianAddrs.length);
        for (uint i = 0; i < guardianAddrs.length; i++) {
            orbsAddrs[i] = orbsOf[guardianAddrs[i]];
        }
    }
}
