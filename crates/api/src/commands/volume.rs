//! Volumes: createVolume, attachVolume, detachVolume, resizeVolume, deleteVolume (listVolumes
//! is with the VM commands).

use ferrostack_app::saga::SagaKind;
use ferrostack_app::volume::{VolumeCreate, VolumeResize};
use ferrostack_types::{Error, EventType};

use crate::args::Args;
use crate::registry::{Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::vm::VOLUME_FIELDS;
use crate::Ctx;

fn volume_id() -> Param {
    Param::new("id", PType::Uuid, "the ID of the disk volume").related("listVolumes")
}

fn job(
    name: &'static str,
    description: &'static str,
    params: Vec<Param>,
    handler: crate::registry::Handler,
) -> Command {
    Command {
        name,
        description,
        is_async: true,
        since: None,
        access: Access::All,
        params,
        shape: Shape::Job(Some("volume")),
        response: VOLUME_FIELDS,
        job: None,
        handler,
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        job(
            "createVolume",
            "Creates a disk volume from a disk offering. This disk volume must still be attached to a virtual machine to make use of it.",
            vec![
                Param::new("name", PType::String, "the name of the disk volume"),
                Param::new("zoneid", PType::Uuid, "the ID of the availability zone").related("listZones"),
                Param::new("diskofferingid", PType::Uuid, "the ID of the disk offering. Either diskOfferingId or snapshotId must be passed in.").related("listDiskOfferings"),
                Param::new("size", PType::Long, "Arbitrary volume size"),
                Param::new("snapshotid", PType::Uuid, "the snapshot ID for the disk volume. Either diskOfferingId or snapshotId must be passed in.").related("listSnapshots"),
                Param::new("virtualmachineid", PType::Uuid, "the ID of the virtual machine; to be used with snapshot Id, VM to which the volume gets attached after creation").related("listVirtualMachines"),
                Param::new("account", PType::String, "the account associated with the disk volume. Must be used with the domainId parameter."),
                Param::new("domainid", PType::Uuid, "the domain ID associated with the disk offering. If used with the account parameter returns the disk volume associated with the account for the specified domain.").related("listDomains"),
                Param::new("displayvolume", PType::Boolean, "an optional field, whether to display the volume to the end user or not.").since("4.4")
                    .only("true", "every volume is displayed to its owner"),
                Param::unsupported("projectid", PType::Uuid, "projects are not supported yet; create the volume for an account (account, domainid)"),
                Param::unsupported("miniops", PType::Long, IOPS),
                Param::unsupported("maxiops", PType::Long, IOPS),
                Param::unsupported("storageid", PType::Uuid, "the volume is placed on its VM's pool when a host first needs it"),
                Param::unsupported("customid", PType::String, "volume ids are generated"),
            ],
            |c, a| Box::pin(create(c, a)),
        )
        .job(SagaKind::VolumeCreate, EventType::VolumeCreate, "org.apache.cloudstack.api.command.user.volume.CreateVolumeCmd"),
        job(
            "attachVolume",
            "Attaches a disk volume to a virtual machine.",
            vec![
                volume_id().required(),
                Param::new("virtualmachineid", PType::Uuid, "the ID of the virtual machine").required().related("listVirtualMachines"),
                Param::new("deviceid", PType::Long, "The ID of the device to map the volume to the guest OS. If no deviceID is informed, the next available deviceID will be chosen. Use 0 when volume needs to be attached as ROOT."),
            ],
            |c, a| Box::pin(attach(c, a)),
        )
        .job(SagaKind::VolumeAttach, EventType::VolumeAttach, "org.apache.cloudstack.api.command.user.volume.AttachVolumeCmd"),
        job(
            "detachVolume",
            "Detaches a disk volume from a virtual machine.",
            vec![
                volume_id(),
                Param::new("deviceid", PType::Long, "the device ID on the virtual machine where volume is detached from"),
                Param::new("virtualmachineid", PType::Uuid, "the ID of the virtual machine where the volume is detached from").related("listVirtualMachines"),
            ],
            |c, a| Box::pin(detach(c, a)),
        )
        .job(SagaKind::VolumeDetach, EventType::VolumeDetach, "org.apache.cloudstack.api.command.user.volume.DetachVolumeCmd"),
        job(
            "resizeVolume",
            "Resizes a volume",
            vec![
                volume_id().required(),
                Param::new("diskofferingid", PType::Uuid, "new disk offering id").related("listDiskOfferings"),
                Param::new("size", PType::Long, "New volume size in GB"),
                Param::new("shrinkok", PType::Boolean, "Verify OK to Shrink"),
                Param::unsupported("miniops", PType::Long, IOPS),
                Param::unsupported("maxiops", PType::Long, IOPS),
                Param::unsupported("automigrate", PType::Boolean, "volumes are not moved between pools"),
            ],
            |c, a| Box::pin(resize(c, a)),
        )
        .job(SagaKind::VolumeResize, EventType::VolumeResize, "org.apache.cloudstack.api.command.user.volume.ResizeVolumeCmd"),
        Command {
            name: "deleteVolume",
            description: "Deletes a detached disk volume.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![volume_id().required()],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        },
    ]
}

const IOPS: &str = "IOPS limits are not supported; leave miniops and maxiops out";

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .volume_create(
            &c.caller,
            VolumeCreate {
                name: a.str("name"),
                zone_uuid: a.uuid("zoneid"),
                disk_offering_uuid: a.uuid("diskofferingid"),
                size_gb: a.i64("size"),
                vm_uuid: a.uuid("virtualmachineid"),
                account: a.str("account"),
                domain_uuid: a.uuid("domainid"),
                snapshot_uuid: a.uuid("snapshotid"),
            },
            c.job_meta()?,
        )
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: s.entity_uuid,
    })
}

async fn attach(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .volume_attach(
            &c.caller,
            &a.req_uuid("id")?,
            &a.req_uuid("virtualmachineid")?,
            a.i64("deviceid"),
            c.job_meta()?,
        )
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: s.entity_uuid,
    })
}

async fn detach(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (id, vm) = (a.uuid("id"), a.uuid("virtualmachineid"));
    let s = c
        .app
        .volume_detach(
            &c.caller,
            id.as_deref(),
            vm.as_deref(),
            a.i64("deviceid"),
            c.job_meta()?,
        )
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: s.entity_uuid,
    })
}

async fn resize(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .volume_resize(
            &c.caller,
            VolumeResize {
                uuid: a.req_uuid("id")?,
                disk_offering_uuid: a.uuid("diskofferingid"),
                size_gb: a.i64("size"),
                shrink_ok: a.bool("shrinkok"),
            },
            c.job_meta()?,
        )
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: s.entity_uuid,
    })
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.volume_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}
