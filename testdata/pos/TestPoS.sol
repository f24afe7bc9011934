// SPDX-License-Identifier: MIT
// A test stand-in for the Orbs v2 PoS contracts: the read functions and
// events vcsync uses (Committee, GuardiansRegistration of both versions,
// Elections' StakeChanged and the ContractRegistry's
// ContractAddressUpdated, with the real contracts' exact signatures), plus
// setters. One instance can play every contract, or each its own.
pragma solidity ^0.8.0;

contract TestPoS {
    event CommitteeChange(address indexed addr, uint256 weight, bool certification, bool inCommittee);
    event CommitteeSnapshot(address[] addrs, uint256[] weights, bool[] certification);
    // GuardiansRegistration's events, with the deployed v2 contract's exact signatures.
    event GuardianRegistered(address indexed guardian);
    event GuardianUnregistered(address indexed guardian);
    event GuardianDataUpdated(address indexed guardian, bool isRegistered, bytes4 ip, address orbsAddr, string name, string website, uint256 registrationTime);
    event StakeChanged(address indexed addr, uint256 selfDelegatedStake, uint256 delegatedStake, uint256 effectiveStake);
    event ContractAddressUpdated(string contractName, address addr, bool managedContract);

    address[] private members;
    mapping(address => uint256) private weightOf;
    mapping(address => bool) private certOf;
    mapping(address => address) private orbsOf;

    // Replaces the whole committee as the real contract's events would:
    // a CommitteeChange out for each member leaving, one in for each
    // member of the new committee, then a CommitteeSnapshot.
    function setCommittee(address[] calldata addrs, uint256[] calldata weights, bool[] calldata certs) external {
        require(addrs.length == weights.length && addrs.length == certs.length, "length mismatch");
        for (uint i = 0; i < members.length; i++) {
            bool stays = false;
            for (uint j = 0; j < addrs.length; j++) {
                if (addrs[j] == members[i]) stays = true;
            }
            if (!stays) emit CommitteeChange(members[i], weightOf[members[i]], certOf[members[i]], false);
            delete weightOf[members[i]];
        }
        delete members;
        for (uint i = 0; i < addrs.length; i++) {
            members.push(addrs[i]);
            weightOf[addrs[i]] = weights[i];
            certOf[addrs[i]] = certs[i];
            emit CommitteeChange(addrs[i], weights[i], certs[i], true);
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

    // Changes only the node's IP: the registry emits GuardianDataUpdated
    // with the same node address.
    function setIp(address guardian, bytes4 ip) external {
        emit GuardianDataUpdated(guardian, true, ip, orbsOf[guardian], "guardian", "https://example.org", block.timestamp);
    }

    // The first GuardiansRegistration's event, with no registrationTime.
    event GuardianDataUpdated(address indexed guardian, bool isRegistered, bytes4 ip, address orbsAddr, string name, string website);

    function setOrbsAddressV1(address guardian, address orbs) external {
        orbsOf[guardian] = orbs;
        emit GuardianDataUpdated(guardian, true, bytes4(0x7f000001), orbs, "guardian", "https://example.org");
    }

    function unregisterGuardian(address guardian) external {
        emit GuardianDataUpdated(guardian, false, bytes4(0x7f000001), orbsOf[guardian], "guardian", "https://example.org", block.timestamp);
        delete orbsOf[guardian];
        emit GuardianUnregistered(guardian);
    }

    function stakeChanged(address addr, uint256 effectiveStake) external {
        emit StakeChanged(addr, effectiveStake, 0, effectiveStake);
    }

    function setContract(string calldata name, address addr) external {
        emit ContractAddressUpdated(name, addr, true);
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
